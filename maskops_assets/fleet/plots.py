"""The fleet in one picture: how long ago each camera was last heard of, against the threshold."""

from __future__ import annotations

from pathlib import Path

from maskops_assets.fleet.report import FleetReport


def plot_last_seen(report: FleetReport, path: Path) -> Path:
    """A horizontal bar per camera (``agent / camera``): minutes since it was last heard of, silent
    ones in red, the silence threshold as a dashed line. Written as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = sorted(report.cameras, key=lambda r: (r.agent_id, r.camera_id))
    labels = [f"{r.agent_id} / {r.camera_id}" for r in rows] or ["(no cameras)"]
    minutes = [r.quiet_s / 60 for r in rows] or [0.0]
    colours = ["#d62728" if r.silent else "#2ca02c" for r in rows] or ["#cccccc"]
    fig, ax = plt.subplots(figsize=(7.5, max(2.0, 0.35 * len(labels) + 1.2)), dpi=100)
    ax.barh(range(len(labels)), minutes, color=colours)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    threshold = report.silent_after_s / 60
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"silent after {threshold:g} min")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("minutes since last heard of (status age + frame age)")
    ax.set_title(
        f"edge fleet at {report.now:%Y-%m-%d %H:%M} UTC, release {report.live_release_id or 'none'}",
        fontsize=9,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
