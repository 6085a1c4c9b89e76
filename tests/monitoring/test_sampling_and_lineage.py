"""The window's bounded, camera-stratified sample, and how the champion's dataset version is found."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from drift_builders import MODEL_VERSION, build_fake_yolo_onnx, publish_champion

from maskops_assets.monitoring.champion import NoReferenceYet, champion_lineage
from maskops_assets.monitoring.sampling import camera_quotas, sample_per_camera
from maskops_assets.store import LocalObjectStore
from maskops_contracts import model_key


def _rows(counts: dict[str, int]) -> pd.DataFrame:
    cameras = [camera for camera, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"camera_id": cameras, "brightness": range(len(cameras))})


def test_quotas_share_the_bound_equally_and_pass_on_what_a_quiet_camera_leaves():
    assert camera_quotas({"busy": 10_000, "quiet": 30, "mid": 5_000}, 3_000) == {
        "busy": 1_485,
        "quiet": 30,
        "mid": 1_485,
    }
    assert camera_quotas({"a": 5, "b": 7}, 100) == {"a": 5, "b": 7}
    assert sum(camera_quotas({f"c{i}": 1_000 for i in range(7)}, 1_000).values()) == 1_000


def test_sample_is_bounded_stratified_and_the_same_every_time():
    rows = _rows({"busy": 10_000, "quiet": 30, "mid": 5_000})

    first = sample_per_camera(rows, 3_000)
    second = sample_per_camera(rows, 3_000)

    assert len(first) == 3_000
    assert first["camera_id"].value_counts().to_dict() == {"busy": 1_485, "mid": 1_485, "quiet": 30}
    pd.testing.assert_frame_equal(first, second)
    small = _rows({"a": 10})
    pd.testing.assert_frame_equal(sample_per_camera(small, 100), small)
    with pytest.raises(ValueError, match="max_rows"):
        camera_quotas({"a": 1}, 0)


def test_dataset_version_comes_from_the_models_published_metadata(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    publish_champion(store, build_fake_yolo_onnx(tmp_path / "model.onnx"), dataset_version="dataset-v7")

    lineage = champion_lineage(store)

    assert (lineage.model_version, lineage.dataset_version) == (MODEL_VERSION, "dataset-v7")
    assert lineage.onnx_key == model_key(MODEL_VERSION) and lineage.release_id.startswith("rel-")


def test_without_lineage_in_the_store_the_mlflow_registry_is_asked(tmp_path):
    import mlflow

    from maskops_assets.tracking.registry import DATASET_VERSION_TAG, ModelRegistry

    store = LocalObjectStore(tmp_path / "store")
    publish_champion(store, build_fake_yolo_onnx(tmp_path / "model.onnx"))
    store.put_bytes(model_key(MODEL_VERSION, "metadata.json"), json.dumps({"lineage": {}}).encode())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = ModelRegistry.for_experiment(
        mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri),
        "drift-test",
        "maskops-detector",
        artifact_location=(tmp_path / "artifacts").as_uri(),
    )
    with registry.run("training") as run_id:
        version = registry.register(run_id, "model", tags={DATASET_VERSION_TAG: "dataset-v3"})
    registry.tag_model_version(version.version, MODEL_VERSION)

    with pytest.raises(NoReferenceYet, match="names no dataset version"):
        champion_lineage(store)
    assert champion_lineage(store, lambda: registry).dataset_version == "dataset-v3"
