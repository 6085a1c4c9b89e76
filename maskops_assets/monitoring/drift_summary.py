"""The drift report's summary: what ``drift_report`` writes and ``drift_sensor`` reads.

``drift_report`` stores its full Evidently HTML under ``reports/drift/<report_id>.html`` and this
summary twice: ``reports/drift/<report_id>.json`` (history) and ``reports/drift/latest.json`` (what
the sensor reads, one small object, so a sensor tick never lists the report history).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from maskops_store import ObjectNotFoundError, ObjectStore

DRIFT_PREFIX = "reports/drift/"
LATEST_DRIFT_KEY = f"{DRIFT_PREFIX}latest.json"
DRIFT_SUMMARY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's test: its p-value (or distance), and whether Evidently called it drifted."""

    name: str
    score: float
    drifted: bool
    stattest: str = ""


@dataclass(frozen=True)
class DriftSummary:
    """The recent window against the reference, overall and per camera.

    ``drift_share``: share of features Evidently found drifted (0..1). ``features``: each one's
    score. ``cameras``: camera id -> that camera's drift share (only cameras with enough rows).
    ``drifted_cameras``: cameras whose share is at or over ``threshold``. ``reference``: what the
    reference was built from (e.g. ``dataset <version>, 240 training images``).
    """

    report_id: str
    created_at: str
    window_start: str
    window_end: str
    rows: int
    reference: str
    reference_rows: int
    drift_share: float
    threshold: float
    features: tuple[FeatureDrift, ...] = ()
    cameras: dict[str, float] = field(default_factory=dict)
    drifted_cameras: tuple[str, ...] = ()
    html_key: str = ""
    schema_version: int = DRIFT_SUMMARY_SCHEMA_VERSION

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at).astimezone(UTC)

    def feature(self, name: str) -> FeatureDrift | None:
        return next((f for f in self.features if f.name == name), None)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> DriftSummary:
        raw = json.loads(data)
        if raw.get("schema_version", 0) > DRIFT_SUMMARY_SCHEMA_VERSION:
            raise ValueError(
                f"drift summary schema_version {raw['schema_version']} is newer than this reader "
                f"({DRIFT_SUMMARY_SCHEMA_VERSION})"
            )
        raw["features"] = tuple(FeatureDrift(**f) for f in raw.get("features", ()))
        raw["drifted_cameras"] = tuple(raw.get("drifted_cameras", ()))
        return cls(**raw)


def summary_key(report_id: str) -> str:
    return f"{DRIFT_PREFIX}{report_id}.json"


def write_summary(store: ObjectStore, summary: DriftSummary) -> None:
    """Keep the summary in the history, then make it the latest one."""
    data = summary.to_json()
    store.put_bytes(summary_key(summary.report_id), data, content_type="application/json")
    store.put_bytes(LATEST_DRIFT_KEY, data, content_type="application/json")


def read_latest(store: ObjectStore) -> DriftSummary | None:
    """The newest drift summary, or None before the first report."""
    try:
        return DriftSummary.from_json(store.get_bytes(LATEST_DRIFT_KEY))
    except ObjectNotFoundError:
        return None
