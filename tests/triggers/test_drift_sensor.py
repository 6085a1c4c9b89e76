"""drift_sensor: drift with labels waiting retrains; no drift does nothing; drift without labels
records a visible "waiting for labels" state naming the drifted cameras, and starts no run."""

from __future__ import annotations

import dagster as dg
from trigger_builders import put_drift, retrain_run

from maskops_assets.constants import RETRAIN_JOB, TRIGGER_REASON_TAG, TRIGGER_TAG
from maskops_assets.defs.triggers import drift_sensor
from maskops_assets.monitoring.drift_summary import FeatureDrift
from maskops_assets.triggers import RETRAIN_REQUESTED, WAITING_FOR_LABELS
from maskops_assets.triggers.tags import DRIFT_SHARE_TAG, DRIFTED_CAMERAS_TAG, NEW_LABEL_IMAGES_TAG


def _tick(instance, resources, cursor=None, **policy) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources(**policy))
    return drift_sensor(context)


def _skip(result: dg.SensorResult) -> str:
    assert not result.run_requests, result.run_requests
    return result.skip_reason.skip_message


def test_drift_with_labels_waiting_requests_a_tagged_retraining(instance, resources, labels, store) -> None:
    put_drift(store, drift_share=0.45, drifted_cameras=("lobby-cam", "gate-cam"))
    labels.batch(4)
    result = _tick(instance, resources, min_labels_on_drift=3, cooldown_s=0)
    (request,) = result.run_requests
    assert request.job_name == RETRAIN_JOB
    assert request.tags[TRIGGER_TAG] == "drift"
    assert request.tags[DRIFT_SHARE_TAG] == "0.450"
    assert request.tags[DRIFTED_CAMERAS_TAG] == "lobby-cam,gate-cam"
    assert request.tags[NEW_LABEL_IMAGES_TAG] == "4"
    assert "drift share 0.45 (threshold 0.30)" in request.tags[TRIGGER_REASON_TAG]
    (observation,) = result.asset_events
    assert observation.metadata["retrain_status"].value == RETRAIN_REQUESTED

    # the same report does not launch a second retraining
    again = _tick(instance, resources, cursor=result.cursor, min_labels_on_drift=3, cooldown_s=0)
    assert "already launched" in _skip(again)


def test_no_drift_requests_nothing(instance, resources, labels, store) -> None:
    labels.batch(20)
    assert "no drift report yet" in _skip(_tick(instance, resources, cooldown_s=0))
    put_drift(store, drift_share=0.1, features=(FeatureDrift("blur", 0.2, False, "ks"),))
    result = _tick(instance, resources, cooldown_s=0)
    assert _skip(result).startswith("no drift:")
    assert not result.asset_events


def test_drift_without_labels_waits_visibly_and_names_the_cameras(instance, resources, store) -> None:
    put_drift(store, drift_share=0.5, drifted_cameras=("lobby-cam",))
    result = _tick(instance, resources, cooldown_s=0)
    reason = _skip(result)
    assert reason.startswith(WAITING_FOR_LABELS)
    assert "lobby-cam" in reason and "0 reviewed image(s)" in reason and "needs 10" in reason
    (observation,) = result.asset_events
    assert isinstance(observation, dg.AssetObservation)
    assert observation.asset_key == dg.AssetKey("drift_report")
    assert observation.metadata["retrain_status"].value == WAITING_FOR_LABELS
    assert observation.metadata["drifted_cameras"].value == ["lobby-cam"]

    # still waiting on the next tick: the reason again, the observation only once per report
    later = _tick(instance, resources, cursor=result.cursor, cooldown_s=0)
    assert _skip(later).startswith(WAITING_FOR_LABELS) and not later.asset_events


def test_a_key_feature_p_value_fires_below_the_share_threshold(instance, resources, labels, store) -> None:
    labels.batch(2)
    distance_only = (FeatureDrift("brightness", 0.01, True, "wasserstein"),)
    put_drift(store, report_id="r1", drift_share=0.1, features=distance_only)
    assert _skip(_tick(instance, resources, min_labels_on_drift=1, cooldown_s=0)).startswith("no drift:")

    put_drift(
        store, report_id="r2", drift_share=0.1, features=(FeatureDrift("brightness", 0.01, True, "ks"),)
    )
    (request,) = _tick(instance, resources, min_labels_on_drift=1, cooldown_s=0).run_requests
    assert "brightness p=0.01" in request.tags[TRIGGER_REASON_TAG]


def test_drift_waits_while_a_retraining_runs(instance, resources, labels, store) -> None:
    put_drift(store, drift_share=0.6)
    labels.batch(12)
    run = retrain_run(instance, dg.DagsterRunStatus.STARTED)
    result = _tick(instance, resources, cooldown_s=0)
    assert run.run_id in _skip(result)
    instance.report_run_canceled(run)
    assert _tick(instance, resources, cursor=result.cursor, cooldown_s=0).run_requests
