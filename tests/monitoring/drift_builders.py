"""Builders for the drift report tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from maskops_assets.monitoring.champion import ChampionLineage
from maskops_assets.release.ledger import ReleaseLedger, new_release_id
from maskops_assets.store import LocalObjectStore
from maskops_assets.synthetic.fixed_model import fixed_table_onnx
from maskops_contracts import ModelRef, ReleaseManifest, model_key, sha256_file, telemetry_key

MODEL_VERSION = "maskops-detector-v1"
DATASET_VERSION = "dataset-v1"
IMGSZ = 64


def build_fake_yolo_onnx(path: Path, imgsz: int = IMGSZ) -> Path:
    """The fixed-table model: two faces, one ``with_mask`` and one ``without_mask``, on every frame."""
    return fixed_table_onnx(path, imgsz)


def load_fake_detector(path: Path):
    from edge_agent.detector import DetectorConfig, load_detector

    return load_detector(
        path,
        model_version=MODEL_VERSION,
        cfg=DetectorConfig(runtime="onnxruntime", precision="fp32", threads=1),
        imgsz=IMGSZ,
    )


def darker_blurrier(image: np.ndarray) -> np.ndarray:
    """The same scene at 30 % of its light, out of focus: every pixel is scaled down by more than
    two thirds and then smoothed, so brightness, contrast, colour means and the variance of the
    Laplacian all fall far below the originals', whatever the scene."""
    dark = (image.astype(np.float32) * 0.3).astype(np.uint8)
    return cv2.GaussianBlur(dark, (0, 0), 3.0)


@dataclass
class ReleasedChampion:
    store: LocalObjectStore
    onnx: Path
    training_images: list[Path]
    lineage: ChampionLineage


class StaticSource:
    """A ReferenceSource over given images and ONNX; counts how often a reference was asked for."""

    def __init__(self, images: list[Path], onnx: Path) -> None:
        self.images = images
        self.onnx = onnx
        self.image_calls = 0

    def training_images(self, dataset_version: str) -> list[Path]:
        self.image_calls += 1
        return list(self.images)

    def champion_detector(self, champion: ChampionLineage):
        return load_fake_detector(self.onnx)


def publish_champion(store: LocalObjectStore, onnx: Path, *, dataset_version: str = DATASET_VERSION) -> None:
    """Put the model in the store as training does, with its lineage, and make it the live champion."""

    store.put_bytes(model_key(MODEL_VERSION), onnx.read_bytes())
    metadata = {"model_version": MODEL_VERSION, "lineage": {"dataset_version": dataset_version}}
    store.put_bytes(model_key(MODEL_VERSION, "metadata.json"), json.dumps(metadata).encode())
    champion = ModelRef(
        model_version=MODEL_VERSION, uri=model_key(MODEL_VERSION), sha256=sha256_file(onnx), imgsz=IMGSZ
    )
    ReleaseLedger(store).publish(ReleaseManifest(release_id=new_release_id(), champion=champion))


def write_camera_telemetry(
    store,
    camera_id: str,
    frames: Sequence[np.ndarray],
    detector,
    *,
    end: datetime | None = None,
    model_version: str = MODEL_VERSION,
    batch_rows: int = 500,
) -> int:
    """Run ``frames`` through the camera's telemetry path and upload the batches as the agent does.

    Frames are spaced one second apart, the last one a minute before ``end`` (default now)."""
    from edge_agent.frame_stats import compute_frame_stats, telemetry_row
    from edge_agent.frames import Frame
    from edge_agent.telemetry import rows_to_parquet

    end = (end or datetime.now(UTC)) - timedelta(minutes=1)
    rows = []
    for index, image in enumerate(frames):
        frame = Frame(
            camera_id=camera_id,
            index=index,
            image=image,
            captured_at=end - timedelta(seconds=len(frames) - index),
            source="test",
        )
        result = detector.detect(image)
        rows.append(
            telemetry_row(
                frame, compute_frame_stats(frame.thumbnail()), result, model_version,
                runtime=detector.runtime, precision=detector.precision,
            )
        )  # fmt: skip
    for start in range(0, len(rows), batch_rows):
        batch = rows[start : start + batch_rows]
        key = telemetry_key(camera_id, batch[0].ts, f"{batch[0].ts:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:12]}")
        store.put_bytes(key, rows_to_parquet(batch))
    return len(rows)
