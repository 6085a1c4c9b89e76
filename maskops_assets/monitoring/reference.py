"""The drift reference: the champion's training images, measured the way a camera measures a frame.

Each training image of the champion's dataset version goes through the edge agent's own code:
``edge_agent.frame_stats.compute_frame_stats`` on the frame's thumbnail (the one implementation of
the frame statistics), the champion's ONNX through ``edge_agent.detector`` at the camera's default
settings, and ``edge_agent.frame_stats.telemetry_row`` to turn both into a telemetry row. So a
reference row and a camera's row differ only in what was seen, never in how it was measured.

A reference depends only on (dataset version, model version), neither of which ever changes, so it
is built once and kept in the store at ``reports/drift/reference/<dataset>__<model>.parquet``
(with a ``.json`` beside it saying what it holds); an hourly report reads it back.
If the champion's ONNX cannot be run here, the reference holds the frame features only and says
why; the detection features are then left out of the comparison rather than compared to zeros.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from maskops_assets.monitoring.champion import ChampionLineage, NoReferenceYet
from maskops_assets.monitoring.features import DETECTION_FEATURES, REFERENCE_CAMERA
from maskops_store import ObjectNotFoundError, ObjectStore

if TYPE_CHECKING:
    from edge_agent.detector import Detector
    from maskops_assets.versioning.dvc_repo import DatasetRepo

REFERENCE_PREFIX = "reports/drift/reference/"
#: The split the reference is built from: what the champion learned from.
TRAIN_SPLIT = "train"


def reference_key(dataset_version: str, model_version: str, ext: str = "parquet") -> str:
    return f"{REFERENCE_PREFIX}{dataset_version}__{model_version}.{ext}"


@dataclass(frozen=True)
class Reference:
    """Reference rows (telemetry columns) and what they were built from."""

    rows: pd.DataFrame
    dataset_version: str
    model_version: str
    images: int
    detections: bool
    note: str = ""
    key: str = ""
    built_now: bool = False

    def describe(self) -> str:
        what = (
            f"detections by {self.model_version}"
            if self.detections
            else f"frame features only ({self.note or 'no detector'})"
        )
        return f"dataset {self.dataset_version}, {self.images} {TRAIN_SPLIT} images, {what}"


class ReferenceSource(Protocol):
    """Where a reference's inputs come from: the training images and the champion's detector."""

    def training_images(self, dataset_version: str) -> list[Path]: ...

    def champion_detector(self, champion: ChampionLineage) -> Detector: ...


def measure_images(
    images: Sequence[Path],
    detector: Detector | None,
    model_version: str,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Telemetry rows (``TELEMETRY_COLUMNS``) of ``images``, computed by the edge agent's own code.

    Without a detector the detection columns are NaN: not measured, rather than "nothing found".
    """
    import cv2

    from edge_agent.detector import DetectionResult
    from edge_agent.frame_stats import compute_frame_stats, telemetry_row
    from edge_agent.frames import Frame
    from edge_agent.telemetry import rows_to_parquet

    now = datetime.now(UTC)
    rows = []
    report_every = max(1, len(images) // 5)
    for index, path in enumerate(images):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise NoReferenceYet(f"cannot read training image {path}")
        frame = Frame(camera_id=REFERENCE_CAMERA, index=index, image=image, captured_at=now, source=str(path))
        result = detector.detect(image) if detector is not None else DetectionResult()
        rows.append(
            telemetry_row(
                frame,
                compute_frame_stats(frame.thumbnail()),
                result,
                model_version,
                runtime=getattr(detector, "runtime", None),
                precision=getattr(detector, "precision", None),
            )
        )
        if progress and ((index + 1) % report_every == 0 or index + 1 == len(images)):
            progress(f"drift reference: measured {index + 1}/{len(images)} training images")
    frame_table = pd.read_parquet(io.BytesIO(rows_to_parquet(rows)))
    if detector is None:
        for column in DETECTION_FEATURES:
            frame_table[column] = float("nan")
    return frame_table


def pick_images(images: Sequence[Path], max_images: int) -> list[Path]:
    """At most ``max_images`` of ``images``, evenly spread over their sorted order (deterministic)."""
    ordered = sorted(images)
    if len(ordered) <= max_images:
        return ordered
    step = len(ordered) / max_images
    return [ordered[int(i * step)] for i in range(max_images)]


def load_or_build_reference(
    store: ObjectStore,
    champion: ChampionLineage,
    source: ReferenceSource,
    *,
    max_images: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> Reference:
    """The stored reference of (champion's dataset version, champion), building it the first time."""
    key = reference_key(champion.dataset_version, champion.model_version)
    info_key = reference_key(champion.dataset_version, champion.model_version, "json")
    try:
        rows = pd.read_parquet(io.BytesIO(store.get_bytes(key)))
        info = json.loads(store.get_bytes(info_key))
        return Reference(
            rows=rows,
            dataset_version=champion.dataset_version,
            model_version=champion.model_version,
            images=int(info["images"]),
            detections=bool(info["detections"]),
            note=str(info.get("note", "")),
            key=key,
        )
    except (ObjectNotFoundError, KeyError, ValueError):
        pass  # not built yet (or an unreadable leftover): build it
    images = pick_images(source.training_images(champion.dataset_version), max_images)
    if not images:
        raise NoReferenceYet(f"dataset {champion.dataset_version} has no {TRAIN_SPLIT} images")
    note = ""
    detector = None
    try:
        detector = source.champion_detector(champion)
    except Exception as err:  # an unloadable model must not cost the frame features
        note = f"the champion's model could not run here: {err}"
    if progress:
        progress(
            f"drift reference: building from {len(images)} {TRAIN_SPLIT} images of {champion.dataset_version}"
            + (f" with {champion.model_version}" if detector else f" ({note})")
        )
    rows = measure_images(images, detector, champion.model_version, progress)
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    info = {
        "dataset_version": champion.dataset_version,
        "model_version": champion.model_version,
        "images": len(images),
        "detections": detector is not None,
        "note": note,
        "built_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    # rows first, description second: a reader needs both, and only a complete pair reads back
    store.put_bytes(key, buffer.getvalue(), "application/vnd.apache.parquet")
    store.put_bytes(info_key, json.dumps(info, indent=2).encode(), "application/json")
    return Reference(
        rows=rows,
        dataset_version=champion.dataset_version,
        model_version=champion.model_version,
        images=len(images),
        detections=detector is not None,
        note=note,
        key=key,
        built_now=True,
    )


class RepoReferenceSource:
    """Training images from the DVC dataset repository; the champion's ONNX from the object store."""

    def __init__(self, store: ObjectStore, repo: DatasetRepo, cache_dir: Path) -> None:
        self.store = store
        self.repo = repo
        self.cache_dir = Path(cache_dir)

    def training_images(self, dataset_version: str) -> list[Path]:
        from maskops_assets.datasets.yolo import read_yolo
        from maskops_assets.versioning.build import DATASET_DIR
        from maskops_assets.versioning.dvc_repo import DatasetRepoError

        try:
            root = self.repo.checkout(dataset_version)
        except DatasetRepoError as err:
            raise NoReferenceYet(f"cannot check out dataset {dataset_version}: {err}") from err
        dataset = read_yolo(root / DATASET_DIR / "data.yaml")
        return [image.image for image in dataset.images if image.split == TRAIN_SPLIT]

    def champion_detector(self, champion: ChampionLineage) -> Detector:
        """The champion's ONNX (downloaded once, checked against the manifest's sha256), loaded as a
        camera loads it: default runtime, fp32 (what the release gate measured)."""
        from edge_agent.detector import DetectorConfig, load_detector
        from maskops_contracts import sha256_file

        path = self.cache_dir / champion.model_version / "model.onnx"
        if not path.is_file() or sha256_file(path) != champion.sha256:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.store.get_bytes(champion.onnx_key))
            digest = sha256_file(path)
            if digest != champion.sha256:
                raise ValueError(
                    f"{champion.onnx_key} has sha256 {digest}, the manifest says {champion.sha256}"
                )
        return load_detector(
            path,
            model_version=champion.model_version,
            cfg=DetectorConfig(precision="fp32"),
            imgsz=champion.imgsz,
        )
