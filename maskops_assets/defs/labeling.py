"""Labeling: new ingest batches go to Label Studio as tasks, the model's boxes drawn for the reviewer,
and ``review_sync_sensor`` keeps both directions moving without anyone launching a run: new
``collected_frames`` batches request ``labeling_tasks``; new reviews submitted in Label Studio
request ``reviewed_labels`` (which stores them as a label batch the label threshold sensor counts)."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import json
import os
from dataclasses import dataclass, field

import dagster as dg

from maskops_assets.constants import OWNER, RETRAIN_JOB
from maskops_assets.labelstudio import LabelStudioError, queue_new_batches
from maskops_assets.resources import LabelStudioResource, ObjectStoreResource

OFF = "off: LABEL_STUDIO_URL is not set (reviewed labels come in as files through reviewed_labels)"


@dg.asset(
    group_name="data",
    kinds={"python", "labelstudio"},
    owners=[OWNER],
    deps=["collected_frames"],
    description=(
        "The review queue in Label Studio: creates or updates the maskops project (rectangles for the "
        "three classes) and imports the samples of every ingest batch not yet queued as tasks, the "
        "model's boxes as pre-annotations, most informative first. Idempotent by sample id. Off, and "
        "says so, when LABEL_STUDIO_URL is not set."
    ),
)
def labeling_tasks(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, label_studio: LabelStudioResource
) -> dg.MaterializeResult:
    if not label_studio.enabled():
        context.log.info(f"Label Studio is {OFF}")
        return dg.MaterializeResult(metadata={"label_studio": OFF})
    store = object_store.open()
    try:
        with label_studio.client() as client:
            context.log.info(
                f"queueing new ingest batches from {store.describe()} in Label Studio at {client.url}"
            )
            report = queue_new_batches(client, store, label_studio.title(), label_studio.linker(store))
    except LabelStudioError as err:
        context.log.error(str(err))
        raise dg.Failure(description=str(err), metadata={"label_studio": err.url}) from None
    push = report.push
    context.log.info(
        f"project {report.project.project_id}: {push.created} new task(s) from "
        f"{len(report.batches)} batch(es), {push.already} sample(s) were tasks already, "
        f"{push.project_tasks} task(s) in all"
    )
    return dg.MaterializeResult(
        metadata={
            "label_studio": dg.MetadataValue.url(report.project.url),
            "project_id": report.project.project_id,
            "project_created": report.project.created,
            "new_tasks": push.created,
            "already_tasks": push.already,
            "project_tasks": push.project_tasks,
            "batches_queued": dg.MetadataValue.json(list(report.batches)),
            "renewed_image_urls": push.renewed_urls,
            "invalid_records": report.invalid_records,
        }
    )


# --- review_sync_sensor: launches labeling_tasks and reviewed_labels when there is something to move ---

#: Run tag naming what a review-sync run does: ``queue`` (labeling_tasks) or ``pull`` (reviewed_labels).
REVIEW_SYNC_TAG = "maskops/review_sync"
QUEUE, PULL = "queue", "pull"
SYNC_ASSETS = {QUEUE: dg.AssetKey("labeling_tasks"), PULL: dg.AssetKey("reviewed_labels")}
COLLECTED_FRAMES = dg.AssetKey("collected_frames")
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _interval_s() -> int:
    raw = os.environ.get("MASKOPS_SENSOR_INTERVAL_S", "60")
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"MASKOPS_SENSOR_INTERVAL_S must be a whole number of seconds >= 1, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class SyncDecision:
    """What one tick asks for (``QUEUE``/``PULL``), the cursor after it, and why nothing else."""

    requests: tuple[str, ...]
    cursor: dict
    reasons: list[str] = field(default_factory=list)


def decide_review_sync(
    cursor: dict, newest_frames: int | None, submitted_reviews: int | None, busy: dict[str, str | None]
) -> SyncDecision:
    """Plain decision of one tick.

    ``newest_frames``: storage id of the newest ``collected_frames`` materialization (None: none yet).
    ``submitted_reviews``: annotations submitted or skipped in the Label Studio project (None: Label
    Studio off or no project yet). ``busy``: per kind, the id of a run in progress that blocks it
    (a queue or pull run already going; a retraining run blocks the pull, whose own
    ``reviewed_labels`` pulls the same reviews). A blocked request waits: the cursor stays.
    """
    requests, after, reasons = [], dict(cursor), []
    if newest_frames is not None and newest_frames > cursor.get("frames", 0):
        if busy.get(QUEUE):
            reasons.append(f"new collected frames wait for run {busy[QUEUE]}")
        else:
            requests.append(QUEUE)
            after["frames"] = newest_frames
    # "changed", not "grew": a project deleted and created again starts counting from 0
    if submitted_reviews is not None and submitted_reviews != cursor.get("reviews", 0):
        if busy.get(PULL):
            reasons.append(f"{submitted_reviews} submitted review(s) wait for run {busy[PULL]}")
        else:
            requests.append(PULL)
            after["reviews"] = submitted_reviews
    if not requests and not reasons:
        reasons.append(
            "no new collected frames and no new reviews in Label Studio"
            if submitted_reviews is not None
            else "no new collected frames (Label Studio: no project yet, or LABEL_STUDIO_URL unset)"
        )
    return SyncDecision(tuple(requests), after, reasons)


def newest_frames_id(instance: dg.DagsterInstance) -> int | None:
    records = instance.fetch_materializations(COLLECTED_FRAMES, limit=1).records
    return records[0].storage_id if records else None


def submitted_reviews(label_studio: LabelStudioResource) -> int | None:
    """Annotations submitted plus tasks skipped in the maskops project; None when there is none."""
    if not label_studio.enabled():
        return None
    with label_studio.client() as client:
        found = client.find_project(label_studio.title())
        if found is None:
            return None
        # the list endpoint leaves the counts out; the project's own page has them
        project = client.get_project(int(found["id"]))
    return int(project.get("total_annotations_number") or 0) + int(
        project.get("skipped_annotations_number") or 0
    )


def blocking_runs(instance: dg.DagsterInstance) -> dict[str, str | None]:
    """Per kind, a run in progress that holds a new request of that kind back (or None)."""

    def first(filters: dg.RunsFilter) -> str | None:
        records = instance.get_run_records(filters, limit=1)
        return records[0].dagster_run.run_id if records else None

    sync = {
        kind: first(dg.RunsFilter(tags={REVIEW_SYNC_TAG: kind}, statuses=IN_PROGRESS))
        for kind in (QUEUE, PULL)
    }
    retrain = first(dg.RunsFilter(job_name=RETRAIN_JOB, statuses=IN_PROGRESS))
    return {QUEUE: sync[QUEUE], PULL: sync[PULL] or retrain}


@dg.sensor(
    asset_selection=dg.AssetSelection.assets(*SYNC_ASSETS.values()),
    minimum_interval_seconds=_interval_s(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Moves frames to reviewers and reviews back, with no one launching a run: materializes "
        "labeling_tasks after new collected_frames batches, and reviewed_labels after new reviews were "
        "submitted in Label Studio (the label threshold sensor then counts them). One run of each kind "
        "at a time; the pull waits while a retraining (which pulls too) is in progress."
    ),
)
def review_sync_sensor(
    context: dg.SensorEvaluationContext, label_studio: LabelStudioResource
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    try:
        reviews = submitted_reviews(label_studio)
    except LabelStudioError as err:
        context.log.warning(f"cannot count reviews in Label Studio: {err}")
        reviews = None
    decision = decide_review_sync(
        cursor, newest_frames_id(context.instance), reviews, blocking_runs(context.instance)
    )
    runs = [
        dg.RunRequest(
            asset_selection=[SYNC_ASSETS[kind]],
            tags={REVIEW_SYNC_TAG: kind},
        )
        for kind in decision.requests
    ]
    return dg.SensorResult(
        run_requests=runs,
        skip_reason=None if runs else "; ".join(decision.reasons),
        cursor=json.dumps(decision.cursor, sort_keys=True),
    )
