"""label_threshold_sensor: counts reviewed images new since the champion's dataset, from the store,
the same across cursors and daemon restarts, and requests one retraining at a time."""

from __future__ import annotations

import json

import dagster as dg
from trigger_builders import make_champion, retrain_run

from maskops_assets.constants import RETRAIN_JOB, TRIGGER_REASON_TAG, TRIGGER_TAG
from maskops_assets.defs.triggers import label_threshold_sensor
from maskops_assets.triggers.label_batches import list_batch_ids
from maskops_assets.triggers.tags import LABEL_BASELINE_TAG, NEW_LABEL_IMAGES_TAG


def _tick(instance, resources, cursor=None, **policy) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources(**policy))
    return label_threshold_sensor(context)


def _skip(result: dg.SensorResult) -> str:
    assert not result.run_requests, result.run_requests
    return result.skip_reason.skip_message


def test_labels_over_the_threshold_request_a_tagged_retraining(instance, resources, labels) -> None:
    labels.batch(3)
    under = _tick(instance, resources, label_threshold=5, cooldown_s=0)
    assert "3 reviewed image(s)" in _skip(under) and "needs 5" in _skip(under)

    labels.batch(2)
    over = _tick(instance, resources, cursor=under.cursor, label_threshold=5, cooldown_s=0)
    (request,) = over.run_requests
    assert request.job_name == RETRAIN_JOB
    assert request.tags[TRIGGER_TAG] == "label_threshold"
    assert request.tags[NEW_LABEL_IMAGES_TAG] == "5"
    assert "5 reviewed image(s)" in request.tags[TRIGGER_REASON_TAG]
    assert "threshold 5" in request.tags[TRIGGER_REASON_TAG]


def test_only_labels_outside_the_champions_dataset_count(instance, resources, labels, store) -> None:
    learned = [labels.batch(4), labels.batch(4)]
    make_champion(store, instance, "maskops-detector-v1", "dataset-v1", learned)
    labels.batch(3)
    result = _tick(instance, resources, label_threshold=5, cooldown_s=0)
    assert "3 reviewed image(s)" in _skip(result) and "dataset-v1" in _skip(result)

    labels.batch(2)
    (request,) = _tick(instance, resources, label_threshold=5, cooldown_s=0).run_requests
    assert request.tags[NEW_LABEL_IMAGES_TAG] == "5"
    assert request.tags[LABEL_BASELINE_TAG] == "dataset-v1"


def test_count_is_the_same_with_any_cursor_and_after_a_restart(instance, resources, labels) -> None:
    for n in (2, 3, 4):
        labels.batch(n)
    first = _tick(instance, resources, label_threshold=100)
    again = _tick(instance, resources, cursor=first.cursor, label_threshold=100)  # cached counts
    restarted = _tick(instance, resources, cursor=None, label_threshold=100)  # cursor lost
    stale = json.dumps({"batch_counts": {}})  # an old cursor from before these batches
    old = _tick(instance, resources, cursor=stale, label_threshold=100)
    for result in (first, again, restarted, old):
        assert _skip(result).startswith("9 reviewed image(s)"), _skip(result)
    assert json.loads(first.cursor) == json.loads(again.cursor) == json.loads(restarted.cursor)


def test_no_second_request_while_a_retraining_is_queued_or_running(instance, resources, labels) -> None:
    labels.batch(6)
    for status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED):
        run = retrain_run(instance, status)
        result = _tick(instance, resources, label_threshold=5, cooldown_s=0)
        assert run.run_id in _skip(result) and status.value.lower() in _skip(result)
        instance.report_run_canceled(run)  # finished: the next status starts from nothing running
    assert _tick(instance, resources, label_threshold=5, cooldown_s=0).run_requests


def test_cool_down_after_a_finished_retraining(instance, resources, labels) -> None:
    labels.batch(6)
    retrain_run(instance, dg.DagsterRunStatus.FAILURE)
    cooling = _tick(instance, resources, label_threshold=5, cooldown_s=3600)
    assert "cool-down" in _skip(cooling)
    assert _tick(instance, resources, label_threshold=5, cooldown_s=0).run_requests


def test_threshold_zero_switches_the_trigger_off(instance, resources, labels) -> None:
    labels.batch(6)
    result = _tick(instance, resources, label_threshold=0)
    assert "off" in _skip(result)


def test_batch_listing_skips_images_and_unfinished_batches(store, labels) -> None:
    ids = [labels.batch(3), labels.batch(1), labels.batch(2)]
    store.put_bytes("labels/reviewed/29991231T000000-unfinished/images/x.png", b"half uploaded")
    assert list_batch_ids(store, page_size=2) == ids
    assert list_batch_ids(store) == ids


def test_a_champion_dataset_this_instance_never_built_falls_back_to_the_newest(
    instance, resources, labels, store
) -> None:
    learned = labels.batch(4)
    make_champion(store, instance, "maskops-detector-v2", "dataset-v2", [learned])
    # the champion's model now names a dataset this instance has no record of (e.g. a fresh instance)
    store.put_bytes(
        "models/maskops-detector-v2/metadata.json", b'{"lineage": {"dataset_version": "dataset-v9"}}'
    )
    labels.batch(3)
    reason = _skip(_tick(instance, resources, label_threshold=5, cooldown_s=0))
    assert reason.startswith("3 reviewed image(s)")
    assert "dataset-v2 (newest dataset; champion maskops-detector-v2's dataset dataset-v9" in reason
