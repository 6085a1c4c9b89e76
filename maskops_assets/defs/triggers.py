"""Retraining triggers: new reviewed labels, drift, a weekly schedule (plus one click in the UI).

Thin wrappers over ``maskops_assets.triggers``: each tick asks its ``decide_*`` function, which
reads the store and the instance, and turns the answer into a run request of ``maskops_main``
tagged with the trigger and why, or a skip reason the UI shows. All are debounced (no request
while a retraining run is queued or running, nor during the cool-down). See docs/triggers.md.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from maskops_assets.constants import RETRAIN_JOB
from maskops_assets.resources import ObjectStoreResource, RetrainPolicyResource
from maskops_assets.triggers import Decision, decide_on_drift, decide_on_labels, decide_weekly


def _interval_s() -> int:
    raw = os.environ.get("MASKOPS_SENSOR_INTERVAL_S", "60")
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"MASKOPS_SENSOR_INTERVAL_S must be a whole number of seconds >= 1, got {raw!r}")
    return int(raw)


#: Seconds between sensor ticks (read when the code location loads).
SENSOR_INTERVAL_S = _interval_s()
#: When the weekly retrain ticks (cron, UTC): Mondays 03:00 by default.
WEEKLY_CRON = os.environ.get("MASKOPS_WEEKLY_RETRAIN_CRON", "0 3 * * 1")
DRIFT_ASSET = dg.AssetKey("drift_report")
#: A YAML file with the run config every automatic retraining gets (read at each tick); unset: defaults.
RUN_CONFIG_ENV = "MASKOPS_RETRAIN_RUN_CONFIG"


def retrain_run_config() -> dict:
    """The run config of automatic retraining runs: ``$MASKOPS_RETRAIN_RUN_CONFIG``'s YAML, else {}."""
    path = os.environ.get(RUN_CONFIG_ENV, "").strip()
    if not path:
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{RUN_CONFIG_ENV}={path}: cannot read it as YAML: {err}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{RUN_CONFIG_ENV}={path}: a run config is a mapping, got {type(loaded).__name__}")
    return loaded


def _result(decision: Decision) -> dg.SensorResult:
    events = []
    if decision.observation is not None:
        events.append(dg.AssetObservation(asset_key=DRIFT_ASSET, metadata=decision.observation))
    runs = (
        [dg.RunRequest(job_name=RETRAIN_JOB, tags=decision.tags, run_config=retrain_run_config())]
        if decision.tags
        else []
    )
    return dg.SensorResult(
        run_requests=runs,
        skip_reason=None if runs else decision.skip_reason,
        asset_events=events,
        cursor=json.dumps(decision.cursor, sort_keys=True),
    )


@dg.sensor(
    job_name=RETRAIN_JOB,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches maskops_main once label_threshold (default 50) reviewed images are in the store "
        "that the current champion's dataset version does not contain. Counted from the store on "
        "every tick; debounced (nothing while a retraining is queued/running, then a cool-down)."
    ),
)
def label_threshold_sensor(
    context: dg.SensorEvaluationContext,
    object_store: ObjectStoreResource,
    retrain_policy: RetrainPolicyResource,
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    decision = decide_on_labels(object_store.open(), context.instance, retrain_policy.policy(), cursor)
    context.log.info(decision.skip_reason or f"requesting {RETRAIN_JOB}: {decision.tags}")
    return _result(decision)


@dg.sensor(
    job_name=RETRAIN_JOB,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Reads the latest drift_report summary: a drift share at or over drift_threshold (0.3) or a key "
        "feature's p-value under 0.05 launches maskops_main when min_labels_on_drift (10) new reviewed "
        "images exist; without them it records 'drift detected, waiting for labels' on drift_report "
        "and names the drifted cameras. Debounced like every trigger."
    ),
)
def drift_sensor(
    context: dg.SensorEvaluationContext,
    object_store: ObjectStoreResource,
    retrain_policy: RetrainPolicyResource,
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    decision = decide_on_drift(object_store.open(), context.instance, retrain_policy.policy(), cursor)
    context.log.info(decision.skip_reason or f"requesting {RETRAIN_JOB}: {decision.tags}")
    return _result(decision)


@dg.schedule(
    cron_schedule=WEEKLY_CRON,
    job_name=RETRAIN_JOB,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Weekly retraining (Mondays 03:00 UTC; MASKOPS_WEEKLY_RETRAIN_CRON), only when weekly_min_samples "
        "(100) new samples arrived since the last model; the release policy then ships the candidate "
        "only if it beats the champion by min_improvement. Debounced like every trigger."
    ),
)
def weekly_retrain(
    context: dg.ScheduleEvaluationContext,
    object_store: ObjectStoreResource,
    retrain_policy: RetrainPolicyResource,
):
    # a tick the UI evaluates by hand ("Test schedule") may have no scheduled time: use now
    tick = context.scheduled_execution_time or datetime.now(UTC)
    decision = decide_weekly(object_store.open(), context.instance, retrain_policy.policy(), tick)
    if decision.tags is None:
        return dg.SkipReason(decision.skip_reason)
    return dg.RunRequest(tags=decision.tags, run_config=retrain_run_config())
