"""Agreement per camera: the shadow comparisons of a window summed camera by camera.

agreement: boxes both models found with the same class, over every box either found (1.0 where no
compared frame had a box). mean_confidence_delta: shadow minus champion confidence, averaged over
every matched pair. class_mismatches: per class the champion gave, matched boxes the shadow named
otherwise. dropped: shadow frames the camera dropped because its shadow worker was busy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from maskops_contracts import CLASS_NAMES


@dataclass(frozen=True)
class CameraAgreement:
    """One camera's shadow figures over the window."""

    camera_id: str
    model_versions: tuple[str, ...]
    shadow_model_versions: tuple[str, ...]
    frames_compared: int
    frames_dropped: int
    champion_boxes: int
    shadow_boxes: int
    matched: int
    class_agreed: int
    champion_only: int
    shadow_only: int
    mean_confidence_delta: float | None
    class_mismatches: dict[str, int]

    @property
    def agreement(self) -> float:
        union = self.matched + self.champion_only + self.shadow_only
        return 1.0 if union == 0 else self.class_agreed / union

    @property
    def class_agreement(self) -> float | None:
        """Among matched boxes, the share with the same class (None without a matched box)."""
        return None if self.matched == 0 else self.class_agreed / self.matched


def agreement_per_camera(rows: pd.DataFrame) -> list[CameraAgreement]:
    """The figures of each camera with comparisons in ``rows`` (``SHADOW_COLUMNS``), by camera id."""
    out: list[CameraAgreement] = []
    if rows.empty:
        return out
    for camera, group in rows.groupby("camera_id", sort=True):
        matched = int(group["matched"].sum())
        weighted = float((group["mean_confidence_delta"] * group["matched"]).sum())
        out.append(
            CameraAgreement(
                camera_id=str(camera),
                model_versions=tuple(sorted(group["model_version"].unique())),
                shadow_model_versions=tuple(sorted(group["shadow_model_version"].unique())),
                frames_compared=len(group),
                frames_dropped=int(group["dropped_before"].sum()),
                champion_boxes=int(group["champion_boxes"].sum()),
                shadow_boxes=int(group["shadow_boxes"].sum()),
                matched=matched,
                class_agreed=int(group["class_agreed"].sum()),
                champion_only=int(group["champion_only"].sum()),
                shadow_only=int(group["shadow_only"].sum()),
                mean_confidence_delta=weighted / matched if matched else None,
                class_mismatches={n: int(group[f"class_mismatch_{n}"].sum()) for n in CLASS_NAMES},
            )
        )
    return out


def agreement_table(cameras: list[CameraAgreement]) -> str:
    """Markdown: one line per camera."""
    lines = [
        "| camera | shadow | frames compared | dropped | agreement | class agreement | conf. delta "
        "| champion only | shadow only | class mismatches |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cameras:
        mismatches = ", ".join(f"{n}: {k}" for n, k in c.class_mismatches.items() if k) or "none"
        class_agreement = "-" if c.class_agreement is None else f"{c.class_agreement:.3f}"
        delta = "-" if c.mean_confidence_delta is None else f"{c.mean_confidence_delta:+.3f}"
        lines.append(
            f"| {c.camera_id} | {', '.join(c.shadow_model_versions)} | {c.frames_compared} | "
            f"{c.frames_dropped} | {c.agreement:.3f} | {class_agreement} | {delta} | {c.champion_only} | "
            f"{c.shadow_only} | {mismatches} |"
        )
    return "\n".join(lines)
