"""Runs a sensor requests on the production profile go through the queued run coordinator, drained by
the real ``dagster-daemon``: two runs tagged ``maskops/kind=training`` run one after the other while
an ingest run runs beside them; every step's log lands in S3.

The launched runs are tiny (``locations/queue_location.py``): each waits until the test releases
it, so what the test sees while a run is in progress is fixed by construction, not by timing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import dagster as dg
import pytest
from testkit import stop_process_group, wait_until

pytestmark = pytest.mark.slow

LOCATION = Path(__file__).parent / "locations" / "queue_location.py"
sys.path.insert(0, str(LOCATION.parent))
from queue_location import NAME_TAG, RUNS  # noqa: E402

IN_PROGRESS = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}


@pytest.fixture
def daemon(profile_home: Path, tmp_path: Path):
    """``dagster-daemon run`` on the profile, with the test location; stopped (its process group) after."""
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        f"load_from:\n  - python_file:\n      relative_path: {LOCATION}\n      location_name: queue_test\n"
    )
    gates = tmp_path / "gates"
    gates.mkdir()
    log = (tmp_path / "daemon.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
        cwd=tmp_path,
        env={**os.environ, "MASKOPS_TEST_GATE_DIR": str(gates)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the daemon, its code server and the runs: one group to stop
    )
    try:
        yield gates
    finally:
        stop_process_group(process, timeout_s=60)
        log.close()


def _runs(instance: dg.DagsterInstance) -> dict[str, dg.DagsterRun]:
    return {
        run.tags[NAME_TAG]: run
        for run in instance.get_runs(filters=dg.RunsFilter(job_name="gated_job"))
        if NAME_TAG in run.tags
    }


def _status(instance, name: str) -> dg.DagsterRunStatus | None:
    run = _runs(instance).get(name)
    return run.status if run else None


def _record(instance, name: str):
    return instance.get_run_record_by_id(_runs(instance)[name].run_id)


def test_training_runs_queue_one_after_the_other_beside_ingest(daemon: Path, profile_env):
    release = daemon
    with dg.DagsterInstance.get() as instance:
        wait_until(lambda: set(_runs(instance)) == set(RUNS), "the sensor's three run requests")
        # the ingest run and one training run are dequeued; the other training run stays queued
        # for as long as the first one is in progress (maskops/kind=training, limit 1)
        wait_until(lambda: _status(instance, "ingest-c") in IN_PROGRESS, "ingest-c to start")
        first = wait_until(
            lambda: next((n for n in ("train-a", "train-b") if _status(instance, n) in IN_PROGRESS), None),
            "a training run to start",
        )
        second = "train-b" if first == "train-a" else "train-a"
        assert _status(instance, first) in IN_PROGRESS
        assert _status(instance, second) == dg.DagsterRunStatus.QUEUED
        assert _status(instance, "ingest-c") in IN_PROGRESS  # ingest runs beside training

        (release / "ingest-c").touch()
        wait_until(lambda: _status(instance, "ingest-c") == dg.DagsterRunStatus.SUCCESS, "ingest-c to end")
        assert _status(instance, second) == dg.DagsterRunStatus.QUEUED  # still held by the first

        (release / first).touch()
        wait_until(lambda: _status(instance, first) == dg.DagsterRunStatus.SUCCESS, f"{first} to end")
        wait_until(lambda: _status(instance, second) in IN_PROGRESS, f"{second} to start after {first}")
        (release / second).touch()
        wait_until(lambda: _status(instance, second) == dg.DagsterRunStatus.SUCCESS, f"{second} to end")

        assert _record(instance, second).start_time >= _record(instance, first).end_time
        runs = _runs(instance)
        for name, run in runs.items():
            kinds = {
                record.event_log_entry.dagster_event.event_type_value
                for record in instance.get_records_for_run(run.run_id).records
                if record.event_log_entry.dagster_event
            }
            # queued by the coordinator first, then launched by the daemon (Dagster's names)
            assert {"PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_SUCCESS"} <= kinds, (name, kinds)

    # each run's step log is in the bucket (S3ComputeLogManager), with what the step printed
    s3 = boto3.client("s3", endpoint_url=profile_env["MASKOPS_S3_ENDPOINT_URL"], region_name="us-east-1")
    for name, run in runs.items():
        prefix = f"dagster/compute-logs/storage/{run.run_id}/"
        listed = s3.list_objects_v2(Bucket=profile_env["MASKOPS_DAGSTER_BUCKET"], Prefix=prefix)
        bodies = [
            s3.get_object(Bucket=profile_env["MASKOPS_DAGSTER_BUCKET"], Key=o["Key"])["Body"].read()
            for o in listed.get("Contents", [])
            if o["Key"].endswith(".out")
        ]
        assert any(f"{name}: released".encode() in body for body in bodies), (name, listed.get("Contents"))
