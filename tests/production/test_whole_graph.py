"""The whole graph materializes on the production profile, against real servers on loopback.

The same tiny graph as the embedded test (tests/platform/test_graph_end_to_end.py: 40 base images
at 96 px, 1 epoch, gate floors at 0): samples seeded into an S3 object store, the ingest sensor's
batch collected, then ``maskops_main`` from the labels to the release. Everything lands where the
profile puts it: runs and events in PostgreSQL, asset values (S3 IO manager) and compute logs in
the bucket, MLflow runs in PostgreSQL behind an MLflow server whose artifacts go to the bucket,
and the dataset version on a DVC S3 remote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
import psycopg2
import pytest
from testkit import free_port, wait_until

from maskops_assets.definitions import build_definitions
from maskops_assets.demo import DemoSettings, ingest, main_run_config
from maskops_assets.ingest.seeding import write_review_export
from maskops_assets.resources import (
    DatasetRepoResource,
    LabelStudioResource,
    MlflowResource,
    ObjectStoreResource,
    WorkDirResource,
    io_manager_from_env,
)
from maskops_contracts import MANIFEST_KEY, ReleaseManifest

pytestmark = pytest.mark.slow

# the embedded whole-graph test's sizes: this proves the wiring on the servers, not the model
SETTINGS = DemoSettings(clip_frames=16, keep_every=2, base_images=40, imgsz=96, epochs=1, batch=8)
MLFLOW_ARTIFACTS_PREFIX = "mlflow"


@pytest.fixture
def mlflow_server(postgres, s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An MLflow tracking server on loopback: backend in a PostgreSQL database of its own, artifacts
    served by the server into ``s3://<bucket>/mlflow``. Yields (tracking URL, database name)."""
    database = "mlflow_whole_graph"
    postgres.create_database(database)
    port = free_port()
    log = tmp_path / "mlflow-server.log"
    env = {**os.environ, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}  # the bucket's credentials: s3_bucket's
    cmd = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        postgres.url(database),
        "--artifacts-destination",
        f"s3://{s3_bucket}/{MLFLOW_ARTIFACTS_PREFIX}",
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: server.poll() is not None or _healthy(url),
            f"the MLflow server at {url} (log {log})",
            timeout_s=180,
        )
        assert server.poll() is None, f"the MLflow server exited: {log.read_text()[-2000:]}"
        yield url, database
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)  # the server's own group: gunicorn/uvicorn workers too
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
                server.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _run_config(review_dir: Path) -> dict:
    config = main_run_config(review_dir, SETTINGS)
    config["ops"]["model_evaluation"] = {
        "config": {
            "min_map50": 0.0,
            "min_class_recall": 0.0,
            "latency_budget_ms": 10000.0,
            "latency_runs": 3,
            "shifted_images": 6,
        }
    }
    config["ops"]["deployment_release"] = {
        "config": {"approved_by": "prod-e2e-test", "canary_cameras": ["cam-demo"]}
    }
    return config


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    assert events, f"{asset} was not materialized"
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def test_the_whole_graph_materializes_on_the_production_profile(
    profile_home: Path,
    profile_env: dict[str, str],
    mlflow_server: tuple[str, str],
    tmp_path: Path,
    monkeypatch,
) -> None:
    endpoint, bucket = profile_env["MASKOPS_S3_ENDPOINT_URL"], profile_env["MASKOPS_DAGSTER_BUCKET"]
    mlflow_url, mlflow_db = mlflow_server
    monkeypatch.setenv("MASKOPS_IO_MANAGER", "s3")
    monkeypatch.setenv("MASKOPS_IO_BUCKET", bucket)
    monkeypatch.setenv("MASKOPS_IO_PREFIX", "dagster/io")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)  # DVC's S3 remote (botocore reads it)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_url)
    home = tmp_path / "home"
    defs = build_definitions(
        {
            "label_studio": LabelStudioResource(),
            "object_store": ObjectStoreResource(
                kind="s3", bucket=bucket, prefix="store", endpoint_url=endpoint
            ),
            "mlflow": MlflowResource(tracking_uri=mlflow_url, artifact_location="mlflow-artifacts:/maskops"),
            "dataset_repo": DatasetRepoResource(
                repo_dir=str(home / "dataset_repo"), remote=f"s3://{bucket}/dvc"
            ),
            "work_dir": WorkDirResource(root=str(home / "work")),
            **io_manager_from_env(),
        }
    )
    store = defs.resources["object_store"].open()
    with dg.DagsterInstance.get() as instance:
        samples = ingest(defs, instance, store, tmp_path / "camera", SETTINGS)
        batches = instance.get_dynamic_partitions("ingest_batches")
        assert len(batches) == 1
        review = write_review_export(samples, tmp_path / "review")
        result = defs.resolve_job_def("maskops_main").execute_in_process(
            run_config=_run_config(review), instance=instance
        )
        assert result.success
        run_ids = [r.run_id for r in instance.get_runs()]
    assert result.run_id in run_ids and len(run_ids) == 2  # the ingest batch's run and maskops_main

    dataset = _metadata(result, "labeled_dataset")
    model = _metadata(result, "trained_model")
    release = _metadata(result, "deployment_release")
    assert dataset["sample_batches"] == batches and model["dataset_version"] == "dataset-v1"
    assert release["model_version"] == model["model_version"]
    assert ReleaseManifest.from_json(store.get_bytes(MANIFEST_KEY)).release_id == release["release_id"]

    # Dagster: both runs and their events are rows in PostgreSQL
    with (
        psycopg2.connect(
            host=profile_env["MASKOPS_PG_HOST"],
            port=int(profile_env["MASKOPS_PG_PORT"]),
            user=profile_env["MASKOPS_PG_USER"],
            dbname=profile_env["MASKOPS_PG_DB"],
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT run_id, status FROM runs")
        assert dict(cur.fetchall()) == {run_id: "SUCCESS" for run_id in run_ids}
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (result.run_id,),
        )
        assert cur.fetchone()[0] >= 6
    conn.close()

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    # asset values: one object per asset (and per partition) from the S3 IO manager
    values = _keys(s3, bucket, "dagster/io/")
    for asset in ("labeled_dataset", "trained_model", "deployment_release"):
        assert f"dagster/io/{asset}" in values, sorted(values)
    assert f"dagster/io/collected_frames/{batches[0]}" in values, sorted(values)
    # compute logs of every run, uploaded by the S3 compute log manager
    for run_id in run_ids:
        assert _keys(s3, bucket, f"dagster/compute-logs/storage/{run_id}/"), run_id
    # the samples, the release manifest and the models in the object store (the bucket's store/ prefix)
    assert f"store/{MANIFEST_KEY}" in _keys(s3, bucket, "store/releases/")
    assert _keys(s3, bucket, "store/samples/") and _keys(s3, bucket, "store/models/")

    # MLflow: the training run is a row in the server's PostgreSQL database, its artifacts in S3
    run_id = model["mlflow_run_id"]
    with (
        psycopg2.connect(
            host=profile_env["MASKOPS_PG_HOST"],
            port=int(profile_env["MASKOPS_PG_PORT"]),
            user=profile_env["MASKOPS_PG_USER"],
            dbname=mlflow_db,
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT status, artifact_uri FROM runs WHERE run_uuid = %s", (run_id,))
        status, artifact_uri = cur.fetchone()
    conn.close()
    assert status == "FINISHED" and artifact_uri.startswith("mlflow-artifacts:/maskops/")
    artifacts = [k for k in _keys(s3, bucket, f"{MLFLOW_ARTIFACTS_PREFIX}/") if f"/{run_id}/" in k]
    assert artifacts, "no MLflow artifact of the training run in the bucket"

    # DVC: the dataset version's files were pushed to the S3 remote
    assert _keys(s3, bucket, "dvc/"), "nothing pushed to the DVC S3 remote"
    repo = defs.resources["dataset_repo"].open()
    assert [v.tag for v in repo.versions()] == ["dataset-v1"]
