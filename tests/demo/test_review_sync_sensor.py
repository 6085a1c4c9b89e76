"""review_sync_sensor: new collected_frames batches launch labeling_tasks, new reviews in Label Studio
launch reviewed_labels, one run of each kind at a time (real DagsterInstance, build_sensor_context)."""

from __future__ import annotations

import dagster as dg
import pytest

from maskops_assets.constants import RETRAIN_JOB
from maskops_assets.defs.labeling import (
    COLLECTED_FRAMES,
    PULL,
    QUEUE,
    REVIEW_SYNC_TAG,
    SYNC_ASSETS,
    decide_review_sync,
    review_sync_sensor,
)
from maskops_assets.resources import LabelStudioResource

NOT_BUSY = {QUEUE: None, PULL: None}


def test_new_frames_ask_for_the_queue_once() -> None:
    first = decide_review_sync({}, 7, None, NOT_BUSY)
    assert first.requests == (QUEUE,)
    assert first.cursor == {"frames": 7}
    again = decide_review_sync(first.cursor, 7, None, NOT_BUSY)
    assert again.requests == ()
    assert "no new collected frames" in again.reasons[0]


def test_new_reviews_ask_for_a_pull_and_a_recreated_project_counts_again() -> None:
    pulled = decide_review_sync({"reviews": 3}, None, 5, NOT_BUSY)
    assert pulled.requests == (PULL,)
    assert pulled.cursor["reviews"] == 5
    assert decide_review_sync(pulled.cursor, None, 5, NOT_BUSY).requests == ()
    # the project was deleted and made again: fewer reviews than seen is news too
    assert decide_review_sync(pulled.cursor, None, 1, NOT_BUSY).requests == (PULL,)


def test_a_run_in_progress_holds_its_kind_back_and_keeps_the_cursor() -> None:
    held = decide_review_sync({"frames": 1, "reviews": 0}, 4, 2, {QUEUE: "run-q", PULL: "run-r"})
    assert held.requests == ()
    assert held.cursor == {"frames": 1, "reviews": 0}
    assert any("run-q" in reason for reason in held.reasons)
    assert any("run-r" in reason for reason in held.reasons)


@pytest.fixture
def no_label_studio(monkeypatch: pytest.MonkeyPatch) -> LabelStudioResource:
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    return LabelStudioResource()


def _tick(instance: dg.DagsterInstance, resource: LabelStudioResource, cursor: str | None = None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"label_studio": resource})
    return review_sync_sensor(context), context


def test_sensor_requests_labeling_tasks_after_a_collected_frames_batch(
    dagster_instance: dg.DagsterInstance, no_label_studio: LabelStudioResource
) -> None:
    result, _ = _tick(dagster_instance, no_label_studio)
    assert not result.run_requests
    assert "no new collected frames" in result.skip_reason.skip_message

    dagster_instance.add_dynamic_partitions("ingest_batches", ["b1"])
    dagster_instance.report_runless_asset_event(dg.AssetMaterialization(COLLECTED_FRAMES, partition="b1"))
    result, _ = _tick(dagster_instance, no_label_studio, None)
    [request] = result.run_requests
    assert request.asset_selection == [SYNC_ASSETS[QUEUE]]
    assert request.tags[REVIEW_SYNC_TAG] == QUEUE
    cursor = result.cursor

    # the same batch does not ask again
    result, _ = _tick(dagster_instance, no_label_studio, cursor)
    assert not result.run_requests


def test_a_retraining_in_progress_holds_the_pull_back(dagster_instance: dg.DagsterInstance) -> None:
    """maskops_main's own reviewed_labels pulls the same reviews: no second pull beside it."""
    from dagster._core.storage.dagster_run import DagsterRun

    from maskops_assets.defs.labeling import blocking_runs

    running = DagsterRun(job_name=RETRAIN_JOB, run_id="retrain-1", status=dg.DagsterRunStatus.STARTED)
    dagster_instance.add_run(running)
    assert blocking_runs(dagster_instance) == {QUEUE: None, PULL: "retrain-1"}
    dagster_instance.add_run(
        DagsterRun(
            job_name="__ASSET_JOB",
            run_id="queue-1",
            status=dg.DagsterRunStatus.STARTED,
            tags={REVIEW_SYNC_TAG: QUEUE},
        )
    )
    assert blocking_runs(dagster_instance) == {QUEUE: "queue-1", PULL: "retrain-1"}
