"""One drift report, start to end: champion -> recent telemetry -> reference -> Evidently -> store.

``run_drift_report`` is everything the ``drift_report`` asset does, without Dagster:

1. find the live champion and its dataset version (``champion.py``);
2. sample the recent telemetry window to at most ``max_rows``, stratified by camera, reading at
   most ``max_files`` of its files (``window_sample.py``);
3. load the reference of (dataset version, champion), building it once (``reference.py``);
4. test every feature of the window against it with Evidently (one report with HTML), and each
   camera with enough rows on its own (``drift.py``);
5. store the HTML (``reports/drift/<report_id>.html``), a picture (``.png``) and the summary the
   drift sensor reads (``drift_summary.py``: ``reports/drift/<report_id>.json`` and ``latest.json``).

Without a champion, or with too few rows in the window, nothing is compared and nothing is written:
the outcome says why (``status``), and the latest summary stays the last real one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from maskops_assets.monitoring.champion import ChampionLineage, NoReferenceYet, champion_lineage
from maskops_assets.monitoring.drift import DriftTest, evidently_report, feature_tests, share_of
from maskops_assets.monitoring.drift_summary import DRIFT_PREFIX, DriftSummary, FeatureDrift, write_summary
from maskops_assets.monitoring.features import comparable_features, feature_table
from maskops_assets.monitoring.plots import drift_picture
from maskops_assets.monitoring.reference import Reference, ReferenceSource, load_or_build_reference
from maskops_assets.monitoring.window_sample import sample_window
from maskops_store import ObjectStore

if TYPE_CHECKING:
    from maskops_assets.tracking.registry import ModelRegistry

    RegistryArg = ModelRegistry | Callable[[], ModelRegistry] | None

#: The asset and its job, by name (sensors and schedules refer to them by these).
DRIFT_REPORT_ASSET = "drift_report"
DRIFT_REPORT_JOB = "drift_report_job"

OK = "ok"
NO_REFERENCE = "no reference yet"
NO_TELEMETRY = "no telemetry in window"


@dataclass(frozen=True)
class DriftSettings:
    """What a report compares: the window, its bounds, the reference size and the tests."""

    window_hours: float = 24.0
    min_rows: int = 100
    min_rows_per_camera: int = 100
    max_rows: int = 10_000
    max_files: int = 512
    reference_max_images: int = 1000
    test: DriftTest = field(default_factory=DriftTest)

    def __post_init__(self) -> None:
        if self.window_hours <= 0:
            raise ValueError(f"window_hours must be above 0, got {self.window_hours}")
        for name in ("min_rows", "min_rows_per_camera", "max_rows", "max_files", "reference_max_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_rows < self.min_rows:
            raise ValueError(f"max_rows ({self.max_rows}) must be at least min_rows ({self.min_rows})")


@dataclass
class DriftOutcome:
    """What one run found: ``status`` (``OK``, ``NO_REFERENCE``, ``NO_TELEMETRY``) and ``message``;
    for ``OK`` the summary, the keys written and the per-camera feature tests."""

    status: str
    message: str
    window_start: datetime
    window_end: datetime
    window_rows: int = 0
    champion: ChampionLineage | None = None
    reference: Reference | None = None
    summary: DriftSummary | None = None
    picture_key: str = ""
    camera_rows: dict[str, int] = field(default_factory=dict)
    camera_features: dict[str, list[FeatureDrift]] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    #: seconds per step: read, reference, evidently (report + per camera), write
    timings: dict[str, float] = field(default_factory=dict)
    html: str = ""
    picture: bytes = b""


def new_report_id(now: datetime) -> str:
    """``drift-YYYYmmddTHHMMSSZ-xxxx``: sortable by time, unique across concurrent runs."""
    return f"drift-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_drift_report(
    store: ObjectStore,
    source: ReferenceSource,
    settings: DriftSettings | None = None,
    *,
    now: datetime | None = None,
    registry: RegistryArg = None,
    progress: Callable[[str], None] | None = None,
) -> DriftOutcome:
    """Compare the recent telemetry with the champion's training reference and store the report."""
    settings = settings or DriftSettings()
    say = progress or (lambda line: None)
    until = (now or datetime.now(UTC)).astimezone(UTC)
    since = until - timedelta(hours=settings.window_hours)
    outcome = DriftOutcome(status=OK, message="", window_start=since, window_end=until)
    try:
        outcome.champion = champion = champion_lineage(store, registry)
    except NoReferenceYet as err:
        outcome.status, outcome.message = NO_REFERENCE, str(err)
        return outcome

    started = time.perf_counter()
    window = sample_window(store, since, until, settings.max_rows, max_files=settings.max_files)
    outcome.timings["read"] = time.perf_counter() - started
    outcome.window_rows, outcome.unreadable = window.estimated_window_rows, window.unreadable
    say(
        f"drift report: {len(window.rows)} telemetry rows sampled from {window.files_read} of "
        f"{window.files_listed} files (about {window.estimated_window_rows} rows in the window) in "
        f"[{_iso(since)}, {_iso(until)}) ({outcome.timings['read']:.1f} s)"
    )
    if len(window.rows) < settings.min_rows:
        outcome.status = NO_TELEMETRY
        outcome.message = (
            f"{len(window.rows)} telemetry rows in the last {settings.window_hours:g} h, fewer than "
            f"min_rows={settings.min_rows}: nothing compared"
        )
        return outcome

    started = time.perf_counter()
    try:
        outcome.reference = reference = load_or_build_reference(
            store, champion, source, max_images=settings.reference_max_images, progress=say
        )
    except NoReferenceYet as err:
        outcome.status, outcome.message = NO_REFERENCE, str(err)
        return outcome
    outcome.timings["reference"] = time.perf_counter() - started

    started = time.perf_counter()
    sample = window.rows
    reference_table = feature_table(reference.rows, None)
    current = feature_table(sample, champion.model_version)
    features, outcome.left_out = comparable_features(reference_table, current)
    say(
        f"drift report: Evidently on {len(current)} rows x {len(features)} features vs {reference.describe()}"
    )
    whole = evidently_report(reference_table, current, features, settings.test)
    cameras: dict[str, float] = {}
    for camera, rows in current.groupby("camera_id", sort=True):
        outcome.camera_rows[str(camera)] = len(rows)
        if len(rows) >= settings.min_rows_per_camera:
            tests = feature_tests(reference_table, rows, features, settings.test)
            outcome.camera_features[str(camera)] = tests
            cameras[str(camera)] = share_of(tests)
    outcome.timings["evidently"] = time.perf_counter() - started

    started = time.perf_counter()
    report_id = new_report_id(until)
    html_key = f"{DRIFT_PREFIX}{report_id}.html"
    outcome.picture_key = f"{DRIFT_PREFIX}{report_id}.png"
    drifted_cameras = tuple(
        c for c, share in sorted(cameras.items()) if share >= settings.test.share_threshold
    )
    summary = DriftSummary(
        report_id=report_id,
        created_at=_iso(datetime.now(UTC)),
        window_start=_iso(since),
        window_end=_iso(until),
        rows=len(current),
        reference=reference.describe(),
        reference_rows=len(reference_table),
        drift_share=whole.drift_share,
        threshold=settings.test.share_threshold,
        features=tuple(whole.features),
        cameras=cameras,
        drifted_cameras=drifted_cameras,
        html_key=html_key,
    )
    outcome.html = whole.html
    outcome.picture = drift_picture(
        whole.features,
        cameras,
        stattest_threshold=settings.test.stattest_threshold,
        share_threshold=settings.test.share_threshold,
        title=(
            f"{report_id}: drift share {whole.drift_share:.2f} over {len(current)} rows "
            f"vs {reference.describe()}"
        ),
    )
    store.put_bytes(html_key, whole.html.encode("utf-8"), "text/html")
    store.put_bytes(outcome.picture_key, outcome.picture, "image/png")
    write_summary(store, summary)  # last: the sensor sees a report only once its HTML is there
    outcome.summary = summary
    outcome.timings["write"] = time.perf_counter() - started
    drifted = [f.name for f in whole.features if f.drifted]
    outcome.message = (
        f"drift share {whole.drift_share:.2f} (threshold {settings.test.share_threshold:g}); "
        f"drifted features: {', '.join(drifted) or 'none'}; "
        f"drifted cameras: {', '.join(drifted_cameras) or 'none'}"
    )
    say(f"drift report {report_id}: {outcome.message}")
    return outcome
