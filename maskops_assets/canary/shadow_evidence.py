"""What shadow mode measured of the canary's model, shown with each canary verdict.

A candidate is often shadowed (docs/shadow.md) before it ships as the canary: cameras ran it beside
their own model on a share of their frames and compared the boxes. The canary watch reads those
comparisons with the shadow package's own reader (``read_shadow_window``) and per-camera summary
(``agreement_per_camera``), keeps the rows whose ``shadow_model_version`` is the canary's model, and
records them with its verdict: frames compared, agreement and class agreement per camera, and the
window they came from.

Informational only: agreement with the champion is not accuracy (a model better than the champion
disagrees with it too), so this evidence never changes a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from maskops_assets.shadow.summary import CameraAgreement, agreement_per_camera, agreement_table
from maskops_assets.shadow.window import read_shadow_window
from maskops_contracts import ReleaseManifest
from maskops_store import ObjectStore, StoreError

CAVEAT = (
    "informational, judges nothing: agreement with the champion is not accuracy "
    "(a better model disagrees with it too)"
)


@dataclass(frozen=True)
class ShadowEvidence:
    """The shadow comparisons of ``model_version`` found in ``[since, until)``, summed per camera.

    ``first_ts`` / ``last_ts``: the first and last comparison found (None without any).
    """

    model_version: str
    since: datetime
    until: datetime
    cameras: tuple[CameraAgreement, ...] = ()
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    unreadable: tuple[str, ...] = ()

    @property
    def frames_compared(self) -> int:
        return sum(c.frames_compared for c in self.cameras)

    @property
    def agreement(self) -> float | None:
        """Over every camera: boxes both models found with the same class over every box either found."""
        if not self.cameras:
            return None
        union = sum(c.matched + c.champion_only + c.shadow_only for c in self.cameras)
        return 1.0 if union == 0 else sum(c.class_agreed for c in self.cameras) / union

    @property
    def class_agreement(self) -> float | None:
        """Over every camera: among matched boxes, the share with the same class."""
        matched = sum(c.matched for c in self.cameras)
        return None if matched == 0 else sum(c.class_agreed for c in self.cameras) / matched

    @property
    def compared_with(self) -> tuple[str, ...]:
        """The models the cameras ran while comparing (normally the champion)."""
        return tuple(sorted({v for c in self.cameras for v in c.model_versions}))

    def line(self) -> str:
        """One sentence: what was found, over which window."""
        searched = f"{self.since:%Y-%m-%d %H:%M} .. {self.until:%Y-%m-%d %H:%M} UTC"
        if not self.cameras:
            return f"none: no shadow comparisons of {self.model_version} between {searched}"
        class_agreement = "-" if self.class_agreement is None else f"{self.class_agreement:.3f}"
        return (
            f"{self.frames_compared} frames of {self.model_version} as shadow compared with "
            f"{', '.join(self.compared_with)} on {len(self.cameras)} camera(s), "
            f"{self.first_ts:%Y-%m-%d %H:%M} .. {self.last_ts:%Y-%m-%d %H:%M} UTC: agreement "
            f"{self.agreement:.3f}, class agreement {class_agreement} ({CAVEAT})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the verdict's record."""
        return {
            "model_version": self.model_version,
            "searched": f"{self.since.isoformat()} .. {self.until.isoformat()}",
            "window": (
                f"{self.first_ts.isoformat()} .. {self.last_ts.isoformat()}" if self.cameras else None
            ),
            "frames_compared": self.frames_compared,
            "compared_with": list(self.compared_with),
            "agreement": _round(self.agreement),
            "class_agreement": _round(self.class_agreement),
            "cameras": [
                {
                    "camera_id": c.camera_id,
                    "compared_with": list(c.model_versions),
                    "frames_compared": c.frames_compared,
                    "frames_dropped": c.frames_dropped,
                    "agreement": _round(c.agreement),
                    "class_agreement": _round(c.class_agreement),
                    "mean_confidence_delta": _round(c.mean_confidence_delta),
                    "champion_only": c.champion_only,
                    "shadow_only": c.shadow_only,
                    "class_mismatches": {k: v for k, v in c.class_mismatches.items() if v},
                }
                for c in self.cameras
            ],
            "unreadable_files": list(self.unreadable),
            "note": CAVEAT,
        }

    def markdown(self) -> str:
        """A section for the verdict's report: the sentence, and the shadow report's per-camera table."""
        text = f"### Shadow evidence for {self.model_version}\n\n{self.line()}."
        if self.cameras:
            text += "\n\n" + agreement_table(list(self.cameras))
        if self.unreadable:
            text += "\n\nSkipped, could not be read: " + "; ".join(self.unreadable[:5])
            text += f" (and {len(self.unreadable) - 5} more)" if len(self.unreadable) > 5 else ""
        return text


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def evidence_window(
    manifest: ReleaseManifest, lookback: timedelta, until: datetime
) -> tuple[datetime, datetime]:
    """``[since, until)``: from ``lookback`` before the canary's release to ``until`` (a candidate is
    shadowed before it ships, and other cameras may go on shadowing it while it is the canary)."""
    return min(manifest.created_at, until) - lookback, until


def evidence_from_rows(
    rows: pd.DataFrame,
    model_version: str,
    since: datetime,
    until: datetime,
    unreadable: tuple[str, ...] = (),
) -> ShadowEvidence:
    """The evidence in shadow ``rows`` (``SHADOW_COLUMNS``) of ``[since, until)`` for ``model_version``."""
    mine = rows[rows["shadow_model_version"].astype(str) == model_version] if len(rows) else rows
    if mine.empty:
        return ShadowEvidence(model_version, since, until, unreadable=unreadable)
    ts = pd.to_datetime(mine["ts"], utc=True)
    return ShadowEvidence(
        model_version,
        since,
        until,
        cameras=tuple(agreement_per_camera(mine)),
        first_ts=ts.min().to_pydatetime(),
        last_ts=ts.max().to_pydatetime(),
        unreadable=unreadable,
    )


def read_shadow_evidence(
    store: ObjectStore, model_version: str, since: datetime, until: datetime
) -> ShadowEvidence:
    """The shadow comparisons of ``model_version`` stored for ``[since, until)``. A store that cannot
    be listed gives no evidence, named as unreadable: it must not hold up the verdict."""
    try:
        window = read_shadow_window(store, since, until)
    except (StoreError, OSError) as err:
        return ShadowEvidence(model_version, since, until, unreadable=(f"shadow/: {err}",))
    return evidence_from_rows(window.rows, model_version, since, until, tuple(window.unreadable))
