"""The weekly schedule retrains only with enough new samples since the last model; a manual retrain
is one click (the job needs no run config); the policy reads its settings and names bad ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from maskops_assets.constants import TRIGGER_REASON_TAG, TRIGGER_TAG
from maskops_assets.defs.triggers import weekly_retrain
from maskops_assets.ingest import make_batch, write_batch
from maskops_assets.triggers import RetrainPolicy, RetrainPolicyError
from maskops_assets.triggers.tags import NEW_SAMPLES_TAG, SCHEDULE_TICK_TAG

TICK = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def _ingest(store, n: int, when: datetime, camera: str) -> None:
    keys = [f"samples/{camera}/2026-11-29/{i:024x}.json" for i in range(n)]
    write_batch(store, make_batch(keys, now=when))


def _tick(instance, resources, **policy):
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=TICK, resources=resources(**policy)
    )
    return weekly_retrain(context)


def test_weekly_tick_counts_samples_since_the_last_model(instance, resources, store) -> None:
    now = datetime.now(UTC)
    _ingest(store, 500, now - timedelta(days=30), "old-cam")  # before the last model
    instance.report_runless_asset_event(dg.AssetMaterialization("trained_model"))
    _ingest(store, 60, now + timedelta(hours=1), "cam-a")
    skipped = _tick(instance, resources, cooldown_s=0)
    assert isinstance(skipped, dg.SkipReason)
    assert "60 new sample(s)" in skipped.skip_message and "needs 100" in skipped.skip_message

    _ingest(store, 50, now + timedelta(hours=2), "cam-b")
    request = _tick(instance, resources, cooldown_s=0)
    assert isinstance(request, dg.RunRequest)
    assert request.tags[TRIGGER_TAG] == "weekly_schedule"
    assert request.tags[NEW_SAMPLES_TAG] == "110"
    assert request.tags[SCHEDULE_TICK_TAG] == "2026-11-30T03:00:00Z"
    assert "weekly tick 2026-11-30T03:00:00Z" in request.tags[TRIGGER_REASON_TAG]


def test_weekly_tick_before_any_model_counts_everything(instance, resources, store) -> None:
    _ingest(store, 120, datetime(2026, 1, 1, tzinfo=UTC), "cam-a")
    assert isinstance(_tick(instance, resources, cooldown_s=0), dg.RunRequest)


# Loaded in a fresh interpreter: loading a code location reads Dagster's process-wide defs-state
# storage, which earlier tests' instances (sensor evaluations) can leave pointing at a disposed one.
MANUAL_CHECK = """
import json, dagster as dg
from maskops_assets.definitions import defs
with dg.instance_for_test():
    job = defs().resolve_job_def("maskops_main")
    dg.validate_run_config(job, {})  # raises, naming the missing key, if one click would not do
    selected = sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys)
    print(json.dumps({"run_tags": dict(job.run_tags), "selected": selected}))
"""


def test_manual_retrain_needs_no_run_config_and_is_tagged_manual(tmp_path) -> None:
    env = {**os.environ, "MASKOPS_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", MANUAL_CHECK], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    job = json.loads(done.stdout.strip().splitlines()[-1])
    assert job["run_tags"][TRIGGER_TAG] == "manual" and job["run_tags"][TRIGGER_REASON_TAG]
    assert {"reviewed_labels", "labeled_dataset", "trained_model", "deployment_release"} <= set(
        job["selected"]
    )
    assert "collected_frames" not in job["selected"]


def test_policy_reads_the_environment_and_names_a_bad_value() -> None:
    env = {"MASKOPS_LABEL_THRESHOLD": "7", "MASKOPS_DRIFT_KEY_FEATURES": "blur, contrast"}
    policy = RetrainPolicy.from_env(env, cooldown_s=5)
    assert (policy.label_threshold, policy.key_features, policy.cooldown_s) == (7, ("blur", "contrast"), 5.0)
    assert RetrainPolicy.from_env({}) == RetrainPolicy()
    with pytest.raises(RetrainPolicyError, match="MASKOPS_RETRAIN_COOLDOWN_S must be a number"):
        RetrainPolicy.from_env({"MASKOPS_RETRAIN_COOLDOWN_S": "an hour"})
    with pytest.raises(RetrainPolicyError, match="label_threshold=-1"):
        RetrainPolicy.from_env({"MASKOPS_LABEL_THRESHOLD": "-1"})
