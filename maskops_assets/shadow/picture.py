"""The shadow report's picture (PNG): per camera, how the boxes of the two models split up.

One horizontal bar per camera: boxes both models found with the same class (green), matched with
another class (orange), found by the camera's model only (blue) and by the shadow only (grey),
with the agreement written beside it. matplotlib, Agg backend (headless).
"""

from __future__ import annotations

import io

from maskops_assets.shadow.summary import CameraAgreement


def agreement_picture(cameras: list[CameraAgreement], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.5 * max(1, len(cameras))), dpi=100)
    names = [c.camera_id for c in cameras]
    parts = [
        ("same class", "tab:green", [c.class_agreed for c in cameras]),
        ("other class", "tab:orange", [c.matched - c.class_agreed for c in cameras]),
        ("champion only", "tab:blue", [c.champion_only for c in cameras]),
        ("shadow only", "tab:gray", [c.shadow_only for c in cameras]),
    ]
    left = [0] * len(cameras)
    for label, color, values in parts:
        ax.barh(names, values, left=left, color=color, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, (camera, total) in enumerate(zip(cameras, left, strict=True)):
        ax.text(total, y, f"  {camera.agreement:.0%}", va="center")
    ax.set_xlim(0, max(left, default=0) * 1.12 or 1)  # room for the agreement after the longest bar
    ax.set_xlabel("boxes over the window")
    ax.set_title(title)
    ax.invert_yaxis()
    # beside the bars, not over them (a camera whose boxes fill the axis would be hidden)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0.0)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
