"""Resources: defaults under MASKOPS_HOME, S3 through a real endpoint, MLflow wrapper vs dagster-mlflow."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.resources import (
    DatasetRepoResource,
    MlflowResource,
    ObjectStoreResource,
    WorkDirResource,
)
from maskops_assets.store import LocalObjectStore, S3ObjectStore


def test_defaults_live_under_maskops_home(maskops_home: Path) -> None:
    store = ObjectStoreResource().open()
    assert isinstance(store, LocalObjectStore) and store.root == maskops_home / "store"
    repo = DatasetRepoResource().open()
    assert repo.root == maskops_home / "dataset_repo" and repo.remote == str(maskops_home / "dvc_remote")
    work = WorkDirResource()
    target = work.path("training", "run-1", "weights.pt")
    assert target == maskops_home / "work" / "training" / "run-1" / "weights.pt"
    assert target.parent.is_dir() and not target.exists()
    assert work.dir("exports").is_dir()
    assert MlflowResource().resolved_tracking_uri() == f"sqlite:///{maskops_home / 'mlflow' / 'mlflow.db'}"


def test_s3_store_resource_talks_to_the_endpoint(s3_bucket: str, s3_endpoint: str) -> None:
    store = ObjectStoreResource(kind="s3", bucket=s3_bucket, prefix="p", endpoint_url=s3_endpoint).open()
    assert isinstance(store, S3ObjectStore)
    store.put_bytes("releases/manifest.json", b"{}")
    assert store.list_keys("releases/") == ["releases/manifest.json"]
    with pytest.raises(ValueError, match="MASKOPS_STORE_BUCKET"):
        ObjectStoreResource(kind="s3").open()


def test_mlflow_resource_creates_the_experiment_with_our_artifact_root(
    maskops_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root would be ./mlruns here
    resource = MlflowResource(ui_url="http://mlflow.example:5000/")
    registry = resource.registry()
    experiment_id = registry.experiment_id
    experiment = resource.client().get_experiment(experiment_id)
    assert experiment.name == "maskops"
    assert experiment.artifact_location == (maskops_home / "mlflow" / "artifacts").as_uri()
    run_id = registry.start_run("check")
    registry.client.log_metric(run_id, "map50", 0.5)
    registry.client.log_text(run_id, "ok", "note.txt")
    assert (maskops_home / "mlflow" / "artifacts" / run_id / "artifacts" / "note.txt").is_file()
    assert not (tmp_path / "mlruns").exists()
    assert resource.run_url(run_id) == (
        f"http://mlflow.example:5000/#/experiments/{experiment_id}/runs/{run_id}"
    )
    assert resource.registry().experiment_id == experiment_id  # a second call reuses the experiment


def test_dagster_mlflow_leaves_asset_runs_open(tmp_path: Path, dagster_instance: dg.DagsterInstance) -> None:
    """Why maskops wraps MlflowClient: dagster-mlflow's resource opens an MLflow run at resource
    start-up and only a job-level hook closes it, so a plain asset materialization leaves the run
    RUNNING, named after Dagster's internal asset job. If this starts failing, dagster-mlflow
    fixed it and MlflowResource could use it."""
    import mlflow
    from dagster_mlflow import mlflow_tracking

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    @dg.asset(required_resource_keys={"mlflow"})
    def scored(context) -> int:
        context.resources.mlflow.log_metric("score", 1.0)
        return 1

    try:
        result = dg.materialize(
            [scored],
            instance=dagster_instance,
            resources={
                "mlflow": mlflow_tracking.configured(
                    {"experiment_name": "dagster-mlflow-check", "mlflow_tracking_uri": uri}
                )
            },
        )
        assert result.success
        runs = mlflow.MlflowClient(tracking_uri=uri).search_runs(
            [
                mlflow.MlflowClient(tracking_uri=uri)
                .get_experiment_by_name("dagster-mlflow-check")
                .experiment_id
            ]
        )
        assert len(runs) == 1
        assert runs[0].info.status == "RUNNING"
        assert runs[0].info.run_name == "__ephemeral_asset_job__"
    finally:
        if mlflow.active_run():
            mlflow.end_run()
