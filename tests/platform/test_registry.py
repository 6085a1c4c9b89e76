"""MLflow on a real SQLite store: runs, nested runs, registered versions and aliases."""

from pathlib import Path

import pytest

from maskops_assets.tracking.registry import CHALLENGER, CHAMPION, PARENT_RUN_TAG, ModelRegistry


def _registered_version(registry: ModelRegistry, tmp_path: Path, model_version: str) -> str:
    weights = tmp_path / f"{model_version}.pt"
    weights.write_bytes(model_version.encode())
    with registry.run(f"train-{model_version}") as run_id:
        registry.log_artifact(run_id, weights, "model")
    version = registry.register(run_id, "model").version
    registry.tag_model_version(version, model_version)
    return version


def test_run_logs_params_metrics_and_artifacts(mlflow_registry: ModelRegistry, tmp_path: Path):
    artifact = tmp_path / "notes.txt"
    artifact.write_text("hello")
    with mlflow_registry.run("train", tags={"maskops.dataset_version": "ds-v1"}) as run_id:
        mlflow_registry.log_params(run_id, {"epochs": 3, "model": "yolov8n.yaml"})
        mlflow_registry.log_metrics(run_id, {"map50": 0.5, "nan_is_dropped": float("nan")}, step=1)
        mlflow_registry.log_metrics(run_id, {"metrics/mAP50(B)": 0.6}, step=2)
        mlflow_registry.log_artifact(run_id, artifact, "extra")
    run = mlflow_registry.client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"epochs": "3", "model": "yolov8n.yaml"}
    assert run.data.metrics["map50"] == 0.5 and "nan_is_dropped" not in run.data.metrics
    assert "metrics/mAP50_B_" in run.data.metrics  # ultralytics' key made MLflow-safe
    assert run.data.tags["maskops.dataset_version"] == "ds-v1"
    assert [a.path for a in mlflow_registry.client.list_artifacts(run_id, "extra")] == ["extra/notes.txt"]


def test_failed_block_marks_the_run_failed(mlflow_registry: ModelRegistry):
    with pytest.raises(RuntimeError), mlflow_registry.run("broken") as run_id:
        raise RuntimeError("boom")
    assert mlflow_registry.client.get_run(run_id).info.status == "FAILED"


def test_nested_runs_carry_the_parent(mlflow_registry: ModelRegistry):
    with mlflow_registry.run("parent") as parent:
        child = mlflow_registry.start_run("trial-0", parent_run_id=parent)
    assert mlflow_registry.client.get_run(child).data.tags[PARENT_RUN_TAG] == parent


def test_register_tag_and_find(mlflow_registry: ModelRegistry, tmp_path: Path):
    first = _registered_version(mlflow_registry, tmp_path, "maskops-detector-v1")
    second = _registered_version(mlflow_registry, tmp_path, "maskops-detector-v2")
    assert (first, second) == ("1", "2")
    found = mlflow_registry.find_by_model_version("maskops-detector-v2")
    assert found.version == "2" and found.source.endswith("/model")
    assert mlflow_registry.find_by_model_version("maskops-detector-v9") is None
    downloaded = mlflow_registry.download_artifact(
        found.run_id, "model/maskops-detector-v2.pt", tmp_path / "dl"
    )
    assert downloaded.read_bytes() == b"maskops-detector-v2"


def test_aliases_set_move_and_delete(mlflow_registry: ModelRegistry, tmp_path: Path):
    assert mlflow_registry.alias_version(CHAMPION) is None  # no model registered at all yet
    v1 = _registered_version(mlflow_registry, tmp_path, "m-v1")
    v2 = _registered_version(mlflow_registry, tmp_path, "m-v2")
    assert mlflow_registry.alias_version(CHAMPION) is None
    mlflow_registry.set_alias(CHAMPION, v1)
    mlflow_registry.set_alias(CHALLENGER, v2)
    assert mlflow_registry.alias_version(CHAMPION).model_version == "m-v1"
    mlflow_registry.set_alias(CHAMPION, v2)  # moving an alias
    assert mlflow_registry.alias_version(CHAMPION).version == v2
    mlflow_registry.delete_alias(CHALLENGER)
    mlflow_registry.delete_alias(CHALLENGER)  # idempotent
    assert mlflow_registry.alias_version(CHALLENGER) is None
