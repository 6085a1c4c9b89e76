"""The picture of a canary verdict: canary vs control distributions, side by side (PNG).

Three panels: per-frame mean confidence (frames with detections), detections per frame, and
inference latency, each as overlaid histograms with the canary in orange and the control in blue,
titled with the test's figures. matplotlib with the Agg backend (headless).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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
    fig, axes = plt.subplots(1, len(PANELS), figsize=(13, 3.8), dpi=100)
    for ax, (column, label, detected_only) in zip(axes, PANELS, strict=True):
        a, b = _values(canary, column, detected_only), _values(control, column, detected_only)
        both = np.concatenate([a, b])
        bins = np.histogram_bin_edges(both, bins=30) if both.size else 10
        if b.size:
            ax.hist(b, bins=bins, density=True, alpha=0.55, color="tab:blue", label=f"control ({b.size})")
        if a.size:
            ax.hist(a, bins=bins, density=True, alpha=0.55, color="tab:orange", label=f"canary ({a.size})")
        ax.set_xlabel(label, fontsize=8)
        ax.set_title(notes.get(SIGNAL_OF_PANEL[column], "not tested"), fontsize=7, wrap=True)
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
