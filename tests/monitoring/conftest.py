"""Fixtures for the drift report: a released champion, its training images, camera telemetry.

Everything is real and small: generated training images (``maskops_assets.synthetic``), a tiny
YOLOv8-shaped ONNX built with onnx.helper (fixed boxes, so its detections are the same on every
frame), a local object store holding the release manifest and the model's metadata.json, and
telemetry rows computed by the edge agent's own pipeline (frame statistics, detector,
``telemetry_row``) and written as parquet under ``telemetry/<camera>/<day>/``. The builders live
in drift_builders.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from drift_builders import (
    DATASET_VERSION,
    IMGSZ,
    MODEL_VERSION,
    ReleasedChampion,
    build_fake_yolo_onnx,
    darker_blurrier,
    publish_champion,
)

from maskops_assets.monitoring.champion import ChampionLineage
from maskops_assets.store import LocalObjectStore
from maskops_contracts import model_key, sha256_file


@pytest.fixture(scope="session")
def training_images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The train split of 60 generated default-domain images at 96 px (48 images)."""
    from maskops_assets.synthetic.dataset import generate_dataset

    data_yaml = generate_dataset(tmp_path_factory.mktemp("drift_train") / "ds", 60, seed=0, image_size=96)
    images = sorted((data_yaml.parent / "images" / "train").glob("*.jpg"))
    assert len(images) >= 40
    return images


@pytest.fixture
def released(tmp_path: Path, training_images: list[Path]) -> ReleasedChampion:
    """A local store whose live release's champion was trained on ``training_images``."""
    store = LocalObjectStore(tmp_path / "store")
    onnx = build_fake_yolo_onnx(tmp_path / "model" / "model.onnx")
    publish_champion(store, onnx)
    lineage = ChampionLineage(
        release_id="", model_version=MODEL_VERSION, onnx_key=model_key(MODEL_VERSION),
        sha256=sha256_file(onnx), imgsz=IMGSZ, dataset_version=DATASET_VERSION,
    )  # fmt: skip
    return ReleasedChampion(store, onnx, training_images, lineage)


@pytest.fixture
def camera_frames(training_images: list[Path]) -> Callable[[bool], list[np.ndarray]]:
    """``camera_frames(shifted)``: the training scenes as a camera sees them, or darker and blurrier."""

    def frames(shifted: bool) -> list[np.ndarray]:
        images = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in training_images]
        return [darker_blurrier(i) for i in images] if shifted else images

    return frames


@pytest.fixture
def dagster_instance(tmp_path: Path):
    """A real, SQLite-backed Dagster instance in a temporary DAGSTER_HOME."""
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance
