"""Fixtures shared by the platform tests (P1 data side and P2 model side): add, never edit others'.

Everything real but small: a temporary MASKOPS_HOME and a SQLite-backed Dagster instance in a temp
dir; the moto S3 server and its buckets come from the root conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def maskops_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private MASKOPS_HOME so no test touches the repo's var/ directory."""
    home = tmp_path / "maskops_home"
    home.mkdir()
    monkeypatch.setenv("MASKOPS_HOME", str(home))
    return home


@pytest.fixture
def dagster_instance(tmp_path: Path):
    """A real, SQLite-backed Dagster instance in a temporary DAGSTER_HOME."""
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


# --- model side (P2): tiny data and tiny models, built once per session ------------------------

# Knobs that make yolov8n learn something in a few epochs on ~30 images at 96 px: no warm-up,
# no mosaic, one optimizer step per batch (nbs = batch), SGD with a high learning rate.
TINY_TRAIN = {
    "imgsz": 96,
    "batch": 8,
    "nbs": 8,
    "warmup_epochs": 0.0,
    "mosaic": 0.0,
    "close_mosaic": 0,
    "optimizer": "SGD",
    "lr0": 0.05,
    "threads": 2,
}


@pytest.fixture(scope="session")
def tiny_data_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 generated images at 96 px (train/val/test) in YOLO layout."""
    from maskops_assets.synthetic.dataset import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("tiny_data") / "ds", 40, seed=0, image_size=96)


@pytest.fixture(scope="session")
def tiny_models(tiny_data_yaml: Path, tmp_path_factory: pytest.TempPathFactory):
    """Two trained detectors: ``good`` (25 epochs) and ``bad`` (1 epoch on 20% of the images)."""
    from maskops_assets.training.trainer import TrainConfig, train_detector

    out = tmp_path_factory.mktemp("tiny_models")
    epochs: list[int] = []
    good = train_detector(
        tiny_data_yaml,
        TrainConfig(epochs=25, **TINY_TRAIN),
        out,
        run_name="good",
        progress=lambda p: epochs.append(p.epoch),
    )
    bad = train_detector(
        tiny_data_yaml, TrainConfig(epochs=1, fraction=0.2, **TINY_TRAIN), out, run_name="bad"
    )
    return {"good": good, "bad": bad, "good_progress": epochs}


@pytest.fixture(scope="session")
def tiny_train() -> dict:
    """TrainConfig knobs for the tiny tests (a copy: tests may extend it)."""
    return dict(TINY_TRAIN)


@pytest.fixture
def mlflow_registry(tmp_path: Path):
    """A real MLflow tracking + registry store (SQLite) in a temp dir, wrapped as a ModelRegistry."""
    import mlflow

    from maskops_assets.tracking.registry import ModelRegistry

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    return ModelRegistry.for_experiment(
        client, "maskops-test", "maskops-detector", artifact_location=(tmp_path / "artifacts").as_uri()
    )


@pytest.fixture
def seeded_store(tmp_path: Path):
    """A local store holding 8 sample records (jpg + json) from a small shifted synthetic clip."""
    from maskops_assets.ingest.seeding import seed_samples_from_video
    from maskops_assets.store import LocalObjectStore

    store = LocalObjectStore(tmp_path / "store")
    samples = seed_samples_from_video(store, tmp_path / "camera", n_frames=16, every=2, size=(128, 96))
    return store, samples


@pytest.fixture
def data_resources():
    """A factory: resources with every path under a given home (for materializing the data assets)."""
    return _data_resources


def _data_resources(home: Path) -> dict:
    from maskops_assets.resources import (
        DatasetRepoResource,
        LabelStudioResource,
        MlflowResource,
        ObjectStoreResource,
        WorkDirResource,
    )

    return {
        # Label Studio off (no URL): reviewed_labels imports files only
        "label_studio": LabelStudioResource(),
        "object_store": ObjectStoreResource(kind="local", root=str(home / "store")),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
            artifact_location=(home / "mlflow" / "artifacts").as_uri(),
        ),
        "dataset_repo": DatasetRepoResource(
            repo_dir=str(home / "dataset_repo"), remote=str(home / "dvc_remote")
        ),
        "work_dir": WorkDirResource(root=str(home / "work")),
    }


# --- toy ONNX graphs (export / latency): built with onnx.helper, no training, no torch ----------


@pytest.fixture
def toy_onnx(tmp_path: Path):
    """A factory: ``toy_onnx(name, input_shape, channels=7, reshape=None)`` writes a tiny detector-like
    ONNX graph and returns its path.

    The graph is a stride-32 convolution to ``channels`` outputs, reshaped to ``(1, channels, N)``
    (N = (H/32)(W/32)) like a raw YOLO output; ``input_shape`` dims may be ints or names (dynamic).
    ``reshape`` fixes the reshape target (e.g. ``(1, 7, 9)``): such a graph declares dynamic
    input dims but only runs at the one size whose cell count matches.
    """

    def build(
        name: str, input_shape: list, channels: int = 7, reshape: tuple[int, ...] | None = None
    ) -> Path:
        import numpy as np
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        in_channels = input_shape[1] if isinstance(input_shape[1], int) else 3
        weight = np.random.default_rng(0).standard_normal((channels, in_channels, 32, 32)).astype(np.float32)
        graph = helper.make_graph(
            [
                helper.make_node("Conv", ["images", "w"], ["features"], strides=[32, 32]),
                helper.make_node("Reshape", ["features", "shape"], ["output0"]),
            ],
            "toy",
            [helper.make_tensor_value_info("images", TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, channels, "N"])],
            initializer=[
                numpy_helper.from_array(weight, "w"),
                numpy_helper.from_array(np.array(reshape or (1, channels, -1), np.int64), "shape"),
            ],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        path = tmp_path / name
        onnx.save(model, str(path))
        return path

    return build
