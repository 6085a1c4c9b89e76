"""The production profile (deploy/production/dagster.yaml) against real servers on loopback: a
DagsterInstance on PostgreSQL 15, compute logs and asset values in an S3 bucket (moto's server)."""

from __future__ import annotations

import pickle

import boto3
import dagster as dg
import psycopg2
import pytest

from maskops_assets.resources import io_manager_from_env

pytestmark = pytest.mark.slow


@dg.asset
def frames_counted() -> int:
    print("counted 41 frames")  # captured by the compute log manager
    return 41


@dg.asset
def frames_plus_one(frames_counted: int) -> int:
    return frames_counted + 1


def _s3_objects(endpoint: str, bucket: str, prefix: str) -> dict[str, bytes]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def test_profile_loads_postgres_storage_queued_runs_and_s3_logs(profile_home):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 6
        assert [
            (limit["key"], limit.get("value"), limit["limit"]) for limit in queue.tag_concurrency_limits
        ] == [("maskops/kind", "training", 1)]


def test_a_run_on_the_profile_lands_in_postgres_and_s3(profile_home, profile_env, monkeypatch):
    monkeypatch.setenv("MASKOPS_IO_MANAGER", "s3")
    monkeypatch.setenv("MASKOPS_IO_BUCKET", profile_env["MASKOPS_DAGSTER_BUCKET"])
    monkeypatch.setenv("MASKOPS_IO_PREFIX", "dagster/io")
    resources = io_manager_from_env()
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([frames_counted, frames_plus_one], instance=instance, resources=resources)
        assert result.success
        run_id = result.run_id
        assert instance.get_run_by_id(run_id).is_success

    # the run and its events are rows in PostgreSQL
    conn = psycopg2.connect(
        host=profile_env["MASKOPS_PG_HOST"],
        port=int(profile_env["MASKOPS_PG_PORT"]),
        user=profile_env["MASKOPS_PG_USER"],
        dbname=profile_env["MASKOPS_PG_DB"],
    )
    with conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone() == ("SUCCESS",)
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] > 0
    conn.close()

    endpoint, bucket = profile_env["MASKOPS_S3_ENDPOINT_URL"], profile_env["MASKOPS_DAGSTER_BUCKET"]
    # asset values: pickled by S3PickleIOManager under the prefix, one object per asset
    values = _s3_objects(endpoint, bucket, "dagster/io/")
    assert pickle.loads(values["dagster/io/frames_counted"]) == 41
    assert pickle.loads(values["dagster/io/frames_plus_one"]) == 42
    # compute logs: the step's stdout, uploaded by S3ComputeLogManager when the step ended
    logs = _s3_objects(endpoint, bucket, f"dagster/compute-logs/storage/{run_id}/")
    assert any(b"counted 41 frames" in body for key, body in logs.items() if key.endswith(".out")), sorted(
        logs
    )


def test_io_manager_switch_is_checked():
    assert io_manager_from_env({}) == {}
    assert io_manager_from_env({"MASKOPS_IO_MANAGER": "fs"}) == {}
    with pytest.raises(ValueError, match="MASKOPS_IO_BUCKET"):
        io_manager_from_env({"MASKOPS_IO_MANAGER": "s3"})
    with pytest.raises(ValueError, match="MASKOPS_IO_MANAGER must be one of"):
        io_manager_from_env({"MASKOPS_IO_MANAGER": "gcs"})


def test_code_location_switches_its_io_manager_by_environment(monkeypatch):
    from dagster_aws.s3 import S3PickleIOManager

    from maskops_assets.defs.resources import build_resources

    monkeypatch.delenv("MASKOPS_IO_MANAGER", raising=False)
    assert "io_manager" not in build_resources()  # embedded default: Dagster's filesystem IO manager
    monkeypatch.setenv("MASKOPS_IO_MANAGER", "s3")
    monkeypatch.setenv("MASKOPS_IO_BUCKET", "values")
    io_manager = build_resources()["io_manager"]
    assert isinstance(io_manager, S3PickleIOManager)
    assert io_manager.s3_bucket == dg.EnvVar("MASKOPS_IO_BUCKET")  # read when a run starts
