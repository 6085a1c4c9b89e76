"""Shadow mode in Dagster: the ``shadow_report`` asset, its hourly schedule, and the
``start_shadow`` / ``stop_shadow`` jobs.

A thin layer over ``maskops_assets.shadow`` (reading and summarizing the cameras' shadow
comparisons) and ``maskops_assets.release.shadow`` (the manifest change). ``shadow_report_hourly``
refreshes the report every hour. See docs/shadow.md.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import os

import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.release.ledger import ReleaseError, ReleaseLedger
from maskops_assets.release.shadow import start_shadow as put_shadow
from maskops_assets.release.shadow import stop_shadow as take_shadow
from maskops_assets.resources import ObjectStoreResource, WorkDirResource
from maskops_assets.shadow.report import OK, SHADOW_REPORT_ASSET, ShadowOutcome, run_shadow_report
from maskops_assets.shadow.summary import agreement_table
from maskops_assets.store import LocalObjectStore, ObjectStore
from maskops_contracts.manifest import DEFAULT_SHADOW_FRAME_SHARE

START_SHADOW_JOB = "start_shadow"
STOP_SHADOW_JOB = "stop_shadow"
SHADOW_REPORT_JOB = "shadow_report_job"
#: When shadow_report_hourly ticks (cron, UTC); read when the code location loads. Minute 25: off
#: drift_report_hourly's minute 0 and edge_fleet_schedule's tens, so the three do not start together.
SHADOW_REPORT_CRON = os.environ.get("MASKOPS_SHADOW_REPORT_CRON", "25 * * * *")


class ShadowReportConfig(dg.Config):
    window_hours: float = Field(
        24.0, gt=0, description="summarize the shadow comparisons of the last this many hours"
    )


@dg.asset(
    name=SHADOW_REPORT_ASSET,
    group_name="monitoring",
    kinds={"python", "matplotlib"},
    owners=[OWNER],
    description=(
        "Shadow mode: how a candidate running beside the cameras' model on a share of their frames "
        "agrees with it, per camera (matched boxes at IoU >= 0.5, class agreement, confidence delta, "
        "boxes only one model found, shadow frames dropped), with a picture. The frames where they "
        "disagree most arrive as samples with rule shadow_disagreement. Start a shadow with the "
        "start_shadow job."
    ),
)
def shadow_report(
    context: dg.AssetExecutionContext,
    config: ShadowReportConfig,
    object_store: ObjectStoreResource,
    work_dir: WorkDirResource,
) -> dg.MaterializeResult:
    store = object_store.open()
    outcome = run_shadow_report(store, config.window_hours)
    context.log.info(f"shadow_report: {outcome.status}: {outcome.message}")
    return dg.MaterializeResult(metadata=_metadata(outcome, store, work_dir))


def _metadata(outcome: ShadowOutcome, store: ObjectStore, work_dir: WorkDirResource) -> dict:
    metadata: dict = {
        "status": outcome.status,
        "message": outcome.message,
        "window": f"{outcome.since:%Y-%m-%d %H:%M} to {outcome.until:%Y-%m-%d %H:%M} UTC",
        "files_read": outcome.files_read,
    }
    if outcome.unreadable:
        metadata["unreadable_files"] = dg.MetadataValue.json(outcome.unreadable[:50])
    if outcome.status != OK:
        return metadata
    metadata.update(
        {
            "frames_compared": outcome.frames_compared,
            "lowest_agreement": dg.MetadataValue.float(min(c.agreement for c in outcome.cameras)),
            # one numeric entry per camera: the asset's Plots tab draws each over time
            **{f"agreement_{c.camera_id}": dg.MetadataValue.float(c.agreement) for c in outcome.cameras},
            "cameras": dg.MetadataValue.md(agreement_table(outcome.cameras)),
            "summary_key": outcome.summary_key,
            "picture": _link(store, outcome.picture_key, outcome.picture, work_dir),
        }
    )
    return metadata


def _link(store: ObjectStore, key: str, data: bytes, work_dir: WorkDirResource) -> dg.MetadataValue:
    """A local store's object is a file already; a bucket's gets a copy under the work directory."""
    if isinstance(store, LocalObjectStore):
        return dg.MetadataValue.path(str(store.base / key))
    path = work_dir.path("shadow", *key.split("/"))
    path.write_bytes(data)
    return dg.MetadataValue.path(str(path))


shadow_report_job = dg.define_asset_job(
    SHADOW_REPORT_JOB,
    selection=dg.AssetSelection.assets(SHADOW_REPORT_ASSET),
    description="Refresh the shadow report from the cameras' recent shadow comparisons.",
)

shadow_report_hourly = dg.ScheduleDefinition(
    name="shadow_report_hourly",
    job=shadow_report_job,
    cron_schedule=SHADOW_REPORT_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Every hour at minute 25 (MASKOPS_SHADOW_REPORT_CRON): a fresh shadow report (status 'no "
        "comparisons' while no shadow runs). Stop it in the UI (Automation) to switch shadow reports off."
    ),
)


class StartShadowConfig(dg.Config):
    model_version: str = Field(description="the published model to run as shadow (models/<version>/)")
    cameras: list[str] = Field(default_factory=list, description="cameras that run the shadow")
    percentage: float | None = Field(
        None, ge=0, le=100, description="share of cameras (by the canary's stable hash) when no list is given"
    )
    frame_share: float = Field(
        DEFAULT_SHADOW_FRAME_SHARE, gt=0, le=1, description="share of each shadow camera's frames compared"
    )


@dg.op(description="Make a published model the live release's shadow on some cameras.")
def start_shadow_op(
    context: dg.OpExecutionContext, config: StartShadowConfig, object_store: ObjectStoreResource
) -> str:
    try:
        manifest = put_shadow(
            ReleaseLedger(object_store.open()),
            config.model_version,
            cameras=tuple(config.cameras),
            percentage=config.percentage,
            frame_share=config.frame_share,
        )
    except ReleaseError as err:
        raise dg.Failure(str(err), allow_retries=False) from err
    shadow = manifest.shadow
    assert shadow is not None
    where = ", ".join(shadow.cameras) if shadow.cameras else f"{shadow.percentage:g}% of cameras"
    context.log.info(
        f"release {manifest.release_id}: {shadow.model_version} runs as shadow on {where}, "
        f"{shadow.frame_share:.0%} of their frames"
    )
    return manifest.release_id


@dg.op(description="Take the shadow model out of the live release.")
def stop_shadow_op(context: dg.OpExecutionContext, object_store: ObjectStoreResource) -> str:
    manifest = take_shadow(ReleaseLedger(object_store.open()))
    if manifest is None:
        context.log.info("the live release has no shadow; nothing changed")
        return ""
    context.log.info(f"release {manifest.release_id} has no shadow any more")
    return manifest.release_id


@dg.job(
    name=START_SHADOW_JOB,
    description="Run a published candidate beside the cameras' model on a share of their frames, only to "
    "compare (shadow_report). Set ops.start_shadow_op.config.model_version and cameras or percentage.",
    tags={"maskops": "release"},
)
def start_shadow():
    start_shadow_op()


@dg.job(
    name=STOP_SHADOW_JOB,
    description="Stop the live release's shadow model (the cameras' own models are unchanged).",
    tags={"maskops": "release"},
)
def stop_shadow():
    stop_shadow_op()
