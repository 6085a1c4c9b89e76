"""``drift_report``: the cameras' recent telemetry against the champion's training images, by Evidently.

A thin wrapper over ``maskops_assets.monitoring.drift_report.run_drift_report`` (see docs/drift.md):
it turns the outcome into metadata the Dagster UI plots over time (``drift_share`` and one
``score_<feature>`` per feature), a per-camera table, and links to the stored Evidently HTML and
picture. ``drift_report_hourly`` refreshes it every hour, so ``drift_sensor`` always reads a recent
``reports/drift/latest.json``. Without a champion or without telemetry it materializes with a status
saying so, and writes no figures.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import os

import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.monitoring.drift import DriftTest
from maskops_assets.monitoring.drift_report import (
    DRIFT_REPORT_ASSET,
    DRIFT_REPORT_JOB,
    OK,
    DriftOutcome,
    DriftSettings,
    run_drift_report,
)
from maskops_assets.monitoring.reference import RepoReferenceSource
from maskops_assets.resources import DatasetRepoResource, MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.store import LocalObjectStore, ObjectStore

#: When drift_report_hourly ticks (cron, UTC); read when the code location loads.
DRIFT_REPORT_CRON = os.environ.get("MASKOPS_DRIFT_REPORT_CRON", "0 * * * *")


class DriftReportConfig(dg.Config):
    """The window compared, how it is bounded, and the tests."""

    window_hours: float = Field(24.0, gt=0, description="compare the telemetry of the last this many hours")
    min_rows: int = Field(100, ge=1, description="fewer rows in the window: no report ('no telemetry')")
    min_rows_per_camera: int = Field(
        100, ge=1, description="a camera with fewer (sampled) rows gets no drift share of its own"
    )
    max_rows: int = Field(
        10_000, ge=1, description="sample the window to at most this many rows, stratified by camera"
    )
    threshold: float = Field(
        0.3, gt=0, le=1, description="drift share (drifted features / features) that marks drift"
    )
    stattest: str = Field(
        "ks",
        description="Evidently stat test per feature (ks: Kolmogorov-Smirnov p-value; wasserstein, psi...)",
    )
    stattest_threshold: float = Field(
        0.05, gt=0, description="per-feature threshold: p-value under it (or distance at/over it) drifts"
    )
    reference_max_images: int = Field(
        1000, ge=1, description="training images measured for the reference (evenly spread; built once)"
    )


def _settings(config: DriftReportConfig) -> DriftSettings:
    try:
        return DriftSettings(
            window_hours=config.window_hours,
            min_rows=config.min_rows,
            min_rows_per_camera=config.min_rows_per_camera,
            max_rows=config.max_rows,
            reference_max_images=config.reference_max_images,
            test=DriftTest(
                stattest=config.stattest,
                stattest_threshold=config.stattest_threshold,
                share_threshold=config.threshold,
            ),
        )
    except ValueError as err:
        raise dg.Failure(f"drift_report config: {err}") from None


@dg.asset(
    name=DRIFT_REPORT_ASSET,
    group_name="monitoring",
    kinds={"python", "evidently"},
    owners=[OWNER],
    description=(
        "Evidently drift report: the cameras' recent telemetry (frame brightness, contrast, blur, colour, "
        "saturation; detections per frame, confidences, class mix) against the same features of the "
        "champion's training images, measured by the edge agent's own code. Stores the HTML report and "
        "reports/drift/latest.json (what drift_sensor reads); drift share and per-feature scores are "
        "plotted over time. Refreshed hourly by drift_report_hourly."
    ),
)
def drift_report(
    context: dg.AssetExecutionContext,
    config: DriftReportConfig,
    object_store: ObjectStoreResource,
    dataset_repo: DatasetRepoResource,
    mlflow: MlflowResource,
    work_dir: WorkDirResource,
) -> dg.MaterializeResult:
    settings = _settings(config)
    store = object_store.open()
    source = RepoReferenceSource(store, dataset_repo.open(), work_dir.dir("drift", "models"))
    outcome = run_drift_report(store, source, settings, registry=mlflow.registry, progress=context.log.info)
    context.log.info(f"drift_report: {outcome.status}: {outcome.message}")
    return dg.MaterializeResult(metadata=_metadata(outcome, store, work_dir))


def _metadata(outcome: DriftOutcome, store: ObjectStore, work_dir: WorkDirResource) -> dict:
    metadata: dict = {
        "status": outcome.status,
        "message": outcome.message,
        "window": f"{outcome.window_start:%Y-%m-%d %H:%M} to {outcome.window_end:%Y-%m-%d %H:%M} UTC",
        "window_rows": outcome.window_rows,
    }
    if outcome.champion is not None:
        metadata["model_version"] = outcome.champion.model_version
        metadata["dataset_version"] = outcome.champion.dataset_version
        metadata["release_id"] = outcome.champion.release_id
    if outcome.unreadable:
        metadata["unreadable_files"] = dg.MetadataValue.json(outcome.unreadable[:50])
    summary = outcome.summary
    if outcome.status != OK or summary is None:
        return metadata  # no figures: nothing was compared
    metadata.update(
        {
            "report_id": summary.report_id,
            "drift_share": dg.MetadataValue.float(summary.drift_share),
            "threshold": dg.MetadataValue.float(summary.threshold),
            "drifted_features": sum(f.drifted for f in summary.features),
            "drifted_cameras": dg.MetadataValue.json(list(summary.drifted_cameras)),
            "rows_compared": summary.rows,
            "reference": summary.reference,
            "reference_rows": summary.reference_rows,
            "stattest": summary.features[0].stattest if summary.features else "",
            # one numeric entry per feature: the asset's Plots tab draws each over time
            **{f"score_{f.name}": dg.MetadataValue.float(f.score) for f in summary.features},
            "features": dg.MetadataValue.md(_features_table(outcome)),
            "cameras": dg.MetadataValue.md(_cameras_table(outcome)),
            "html_key": summary.html_key,
            "html_report": _link(store, summary.html_key, outcome.html.encode("utf-8"), work_dir),
            "picture": _link(store, outcome.picture_key, outcome.picture, work_dir),
            "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in outcome.timings.items()}),
        }
    )
    if outcome.left_out:
        metadata["features_left_out"] = dg.MetadataValue.json(outcome.left_out)
    return metadata


def _link(store: ObjectStore, key: str, data: bytes, work_dir: WorkDirResource) -> dg.MetadataValue:
    """A local store's object is a file already; a bucket's (``html_key`` names it there) gets a
    local copy under the work directory that a person on the Dagster machine can open."""
    if isinstance(store, LocalObjectStore):
        return dg.MetadataValue.path(str(store.base / key))
    path = work_dir.path("drift", *key.split("/"))
    path.write_bytes(data)
    return dg.MetadataValue.path(str(path))


def _features_table(outcome: DriftOutcome) -> str:
    lines = ["| feature | score | drifted | test |", "|---|---|---|---|"]
    for f in outcome.summary.features:
        lines.append(f"| {f.name} | {f.score:.3g} | {'yes' if f.drifted else 'no'} | {f.stattest} |")
    return "\n".join(lines)


def _cameras_table(outcome: DriftOutcome) -> str:
    summary = outcome.summary
    lines = ["| camera | rows | drift share | drifted | drifted features |", "|---|---|---|---|---|"]
    for camera, rows in sorted(outcome.camera_rows.items()):
        if camera not in summary.cameras:
            lines.append(f"| {camera} | {rows} | - | too few rows | |")
            continue
        share = summary.cameras[camera]
        names = ", ".join(f.name for f in outcome.camera_features[camera] if f.drifted)
        lines.append(
            f"| {camera} | {rows} | {share:.2f} | {'yes' if share >= summary.threshold else 'no'} | {names} |"
        )
    return "\n".join(lines)


drift_report_job = dg.define_asset_job(
    DRIFT_REPORT_JOB,
    selection=dg.AssetSelection.assets(DRIFT_REPORT_ASSET),
    description="Refresh the drift report from the recent telemetry (what drift_sensor reads).",
)

drift_report_hourly = dg.ScheduleDefinition(
    name="drift_report_hourly",
    job=drift_report_job,
    cron_schedule=DRIFT_REPORT_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Every hour (MASKOPS_DRIFT_REPORT_CRON): a fresh drift report, so drift_sensor never reads a stale "
        "one. Stop it in the UI (Automation) to switch drift reports off."
    ),
)
