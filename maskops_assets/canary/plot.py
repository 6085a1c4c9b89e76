"""The picture of a canary verdict: canary vs control distributions, side by side (PNG).

Three panels: per-frame mean confidence (frames with detections), detections per frame, and
inference latency, each as overlaid histograms with the canary in orange and the control in blue,
titled with the test's figures. With shadow evidence of the canary's model, a fourth panel: its
agreement and class agreement with the champion per camera (informational). matplotlib with the Agg
backend (headless).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from maskops_assets.canary.shadow_evidence import ShadowEvidence
from maskops_assets.canary.statistics import CanaryVerdict, _values

PANELS = (
    ("mean_confidence", "mean confidence per frame (frames with detections)", True),
    ("num_detections", "detections per frame", False),
    ("inference_ms", "inference latency (ms)", False),
)
SIGNAL_OF_PANEL = {
    "mean_confidence": "mean_confidence",
    "num_detections": "detections_per_frame",
    "inference_ms": "latency_p99_ms",
}


def plot_verdict(verdict: CanaryVerdict, canary: pd.DataFrame, control: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    notes = {c.signal: c.note for c in verdict.comparisons}
    shadow = verdict.shadow if verdict.shadow is not None and verdict.shadow.cameras else None
    count = len(PANELS) + (shadow is not None)
    fig, axes = plt.subplots(1, count, figsize=(4.4 * count, 3.8), dpi=100)
    if shadow is not None:
        _shadow_panel(axes[-1], shadow)
    for ax, (column, label, detected_only) in zip(axes[: len(PANELS)], PANELS, strict=True):
        a, b = _values(canary, column, detected_only), _values(control, column, detected_only)
        both = np.concatenate([a, b])
        bins = np.histogram_bin_edges(both, bins=30) if both.size else 10
        if b.size:
            ax.hist(b, bins=bins, density=True, alpha=0.55, color="tab:blue", label=f"control ({b.size})")
        if a.size:
            ax.hist(a, bins=bins, density=True, alpha=0.55, color="tab:orange", label=f"canary ({a.size})")
        ax.set_xlabel(label, fontsize=8)
        # wrapped by hand: matplotlib's wrap=True wraps at the figure's edge, not the panel's
        note = notes.get(SIGNAL_OF_PANEL[column], "not tested")
        ax.set_title("\n".join(textwrap.wrap(note, 60)), fontsize=7)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        f"canary {verdict.canary_model} vs champion {verdict.champion_model} in release "
        f"{verdict.release_id}: {verdict.status}",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _shadow_panel(ax, shadow: ShadowEvidence) -> None:
    """Agreement and class agreement of the canary's model as shadow, one pair of bars per camera."""
    names = [c.camera_id for c in shadow.cameras]
    y = np.arange(len(names))
    agreement = [c.agreement for c in shadow.cameras]
    class_agreement = [c.class_agreement or 0.0 for c in shadow.cameras]
    ax.barh(y - 0.2, agreement, height=0.4, color="tab:green", label="agreement")
    ax.barh(y + 0.2, class_agreement, height=0.4, color="tab:olive", label="class agreement")
    for row, (a, c) in enumerate(zip(agreement, shadow.cameras, strict=True)):
        classes = "-" if c.class_agreement is None else f"{c.class_agreement:.0%}"
        ax.text(0.02, row, f"{a:.0%} / {classes} ({c.frames_compared} frames)", va="center", fontsize=7)
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(f"shadow vs {', '.join(shadow.compared_with)} (informational)", fontsize=8)
    span = f"{shadow.first_ts:%m-%d %H:%M}..{shadow.last_ts:%m-%d %H:%M}"
    ax.set_title(f"{shadow.frames_compared} shadow frames, {span}", fontsize=7)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
