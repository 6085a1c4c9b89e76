"""The drift report's picture (PNG): each feature's test score, and each camera's drift share.

matplotlib with the Agg backend (headless). Drifted features and cameras are drawn in red, the
thresholds as dashed lines, so the picture answers "what drifted, and where" at a glance.
"""

from __future__ import annotations

import io

from maskops_assets.monitoring.drift_summary import FeatureDrift


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def drift_picture(
    features: list[FeatureDrift],
    cameras: dict[str, float],
    *,
    stattest_threshold: float,
    share_threshold: float,
    title: str,
) -> bytes:
    """PNG bytes: per-feature scores (log scale for p-values) beside per-camera drift shares."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), dpi=100, gridspec_kw={"width_ratios": [3, 2]})
    names = [f.name for f in features]
    p_values = bool(features) and "p_value" in features[0].stattest
    # a p-value of exactly 0 cannot go on a log axis: draw it at the smallest float64 step
    scores = [max(f.score, 1e-300) if p_values else f.score for f in features]
    left.barh(names, scores, color=["tab:red" if f.drifted else "tab:green" for f in features])
    left.axvline(stattest_threshold, color="black", linestyle="--", linewidth=1)
    if p_values:
        left.set_xscale("log")
    left.invert_yaxis()
    stattest = features[0].stattest if features else ""
    left.set_xlabel(f"{stattest} (drifted: {'<' if p_values else '>='} {stattest_threshold:g}, red)")
    left.set_title("per-feature test, whole window", fontsize=10)
    left.tick_params(axis="y", labelsize=8)
    if cameras:
        ids = sorted(cameras)
        right.barh(
            ids,
            [cameras[c] for c in ids],
            color=["tab:red" if cameras[c] >= share_threshold else "tab:green" for c in ids],
        )
        for row, camera in enumerate(ids):
            share = cameras[camera]
            right.text(min(share, 0.85) + 0.01, row, f"{share:.2f}", va="center", fontsize=8)
        right.invert_yaxis()
        right.set_xlim(0, 1)
    else:
        right.text(
            0.5, 0.5, "no camera with enough rows", ha="center", va="center", transform=right.transAxes
        )
    right.axvline(share_threshold, color="black", linestyle="--", linewidth=1)
    right.set_xlabel(f"share of drifted features (threshold {share_threshold:g})")
    right.set_title("per camera", fontsize=10)
    right.tick_params(axis="y", labelsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
