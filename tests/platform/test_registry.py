"""MLflow on a real SQLite store: runs, nested runs, registered versions and aliases."""

from pathlib import Path

import pytest

from maskops_assets.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    DATASET_GIT_REV_TAG,
    DATASET_VERSION_TAG,
    PARENT_RUN_TAG,
    ModelRegistry,
)


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


def test_epoch_curves_never_hide_the_summary(mlflow_registry: ModelRegistry):
    """Per-epoch values go under epoch_<name> at step = epoch; the plain name holds the summary
    (the best epoch's figure), so it is the latest value MLflow shows and sorts by."""
    with mlflow_registry.run("train") as run_id:
        for epoch, value in enumerate([0.5, 0.9, 0.7], start=1):
            mlflow_registry.log_epoch(run_id, epoch, {"map50": value})
        mlflow_registry.log_metrics(run_id, {"map50": 0.9, "best_epoch": 2}, step=3)
    client = mlflow_registry.client
    metrics = client.get_run(run_id).data.metrics
    assert metrics["map50"] == 0.9 and metrics["epoch_map50"] == 0.7
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "epoch_map50")] == [
        (1, 0.5),
        (2, 0.9),
        (3, 0.7),
    ]
    found = client.search_runs([mlflow_registry.experiment_id], filter_string="metrics.map50 > 0.8")
    assert [r.info.run_id for r in found] == [run_id]


def test_latest_trained_version_and_its_dataset(mlflow_registry: ModelRegistry, tmp_path: Path):
    assert mlflow_registry.latest_trained() is None  # no model registered at all yet
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"w")
    tags = {DATASET_VERSION_TAG: "dataset-v3", DATASET_GIT_REV_TAG: "abc"}
    with mlflow_registry.run("train-1", tags=tags) as run_id:
        mlflow_registry.log_artifact(run_id, weights, "model")
    v1 = mlflow_registry.register(run_id, "model", tags=tags)
    mlflow_registry.tag_model_version(v1.version, "m-v1")
    assert v1.tags[DATASET_VERSION_TAG] == "dataset-v3"
    # registered, then the export failed: the run is FAILED and that version never counts
    with pytest.raises(RuntimeError), mlflow_registry.run("train-2") as broken:
        mlflow_registry.register(broken, "model")
        raise RuntimeError("export failed")
    latest = mlflow_registry.latest_trained()
    assert latest.model_version == "m-v1"
    assert mlflow_registry.trained_on(latest) == tags
    # a version registered before the tags were copied onto it: its run still names the dataset
    with mlflow_registry.run("train-3", tags={DATASET_VERSION_TAG: "dataset-v4"}) as old:
        mlflow_registry.log_artifact(old, weights, "model")
    v3 = mlflow_registry.register(old, "model")
    assert mlflow_registry.latest_trained().version == v3.version == "3"
    assert mlflow_registry.trained_on(v3) == {DATASET_VERSION_TAG: "dataset-v4"}
