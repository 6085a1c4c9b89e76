"""``shadow_report``: the shadow comparisons of the last hours, agreement per camera, with a picture.

Reads ``shadow/`` over the window, sums the comparisons per camera (``summary``), draws them
(``picture``) and stores the picture and a JSON summary under ``reports/shadow/``
(``latest.json``: the newest report that had comparisons, for a program to read; a window without
any writes nothing, so after ``stop_shadow`` it keeps the last figures, dated by their window).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from maskops_assets.shadow.picture import agreement_picture
from maskops_assets.shadow.summary import CameraAgreement, agreement_per_camera
from maskops_assets.shadow.window import read_shadow_window
from maskops_store import ObjectStore

SHADOW_REPORT_ASSET = "shadow_report"
REPORTS_PREFIX = "reports/shadow/"
LATEST_KEY = f"{REPORTS_PREFIX}latest.json"
OK = "ok"
NO_COMPARISONS = "no comparisons"


@dataclass
class ShadowOutcome:
    """What one report found; ``picture``/``picture_key`` only when there were comparisons."""

    status: str
    message: str
    since: datetime
    until: datetime
    cameras: list[CameraAgreement] = field(default_factory=list)
    picture: bytes = b""
    picture_key: str = ""
    summary_key: str = ""
    files_read: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def frames_compared(self) -> int:
        return sum(c.frames_compared for c in self.cameras)


def run_shadow_report(store: ObjectStore, window_hours: float, now: datetime | None = None) -> ShadowOutcome:
    """Summarize ``[now - window_hours, now)`` and store its picture and summary (when any)."""
    until = (now or datetime.now(UTC)).astimezone(UTC)
    since = until - timedelta(hours=window_hours)
    window = read_shadow_window(store, since, until)
    cameras = agreement_per_camera(window.rows)
    outcome = ShadowOutcome(
        status=OK if cameras else NO_COMPARISONS,
        message="",
        since=since,
        until=until,
        cameras=cameras,
        files_read=window.files_read,
        unreadable=window.unreadable,
    )
    if not cameras:
        outcome.message = (
            f"no shadow comparisons between {since:%Y-%m-%d %H:%M} and {until:%Y-%m-%d %H:%M} UTC; "
            "is a shadow model in the live manifest (launch start_shadow)?"
        )
        return outcome
    outcome.message = (
        f"{outcome.frames_compared} frames compared on {len(cameras)} camera(s); lowest agreement "
        f"{min(c.agreement for c in cameras):.3f}"
    )
    report_id = until.strftime("%Y%m%dT%H%M%SZ")
    outcome.picture = agreement_picture(
        cameras, f"shadow vs camera model, {window_hours:g} h to {until:%H:%M} UTC"
    )
    outcome.picture_key = f"{REPORTS_PREFIX}{report_id}.png"
    outcome.summary_key = f"{REPORTS_PREFIX}{report_id}.json"
    store.put_bytes(outcome.picture_key, outcome.picture, "image/png")
    summary = json.dumps(
        {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "picture_key": outcome.picture_key,
            "cameras": [{**asdict(c), "agreement": c.agreement} for c in cameras],
        },
        indent=2,
    ).encode("utf-8")
    store.put_bytes(outcome.summary_key, summary, "application/json")
    store.put_bytes(LATEST_KEY, summary, "application/json")
    return outcome
