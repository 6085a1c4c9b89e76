"""Build the labeled dataset directory: base images + reviewed labels, hash split, YOLO layout.

The directory is what DVC versions. Its ``data.yaml`` carries no ``path``, so ultralytics and
``read_yolo`` resolve it relative to the file, in the repository and in any checkout alike.
``maskops.json`` beside it records where the data came from (label batches, ingest batches,
base dataset), so a version can be traced without Dagster.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from maskops_assets.datasets.annotations import AnnotationSet
from maskops_assets.datasets.split import assign_splits
from maskops_assets.datasets.stats import DatasetStats
from maskops_assets.datasets.yolo import write_yolo
from maskops_contracts import CLASS_NAMES

log = logging.getLogger(__name__)

DATASET_DIR = "dataset"
LINEAGE_FILE = "maskops.json"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class BuiltDataset:
    data_yaml: Path
    counts: dict[str, dict[str, int]]
    images: dict[str, int]


def count_boxes(ds: AnnotationSet) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Boxes per class per split, and images per split, with every split and class present (maybe 0)."""
    stats = DatasetStats.of(ds)
    counts = {split: {**dict.fromkeys(CLASS_NAMES, 0), **stats.counts.get(split, {})} for split in SPLITS}
    return counts, {split: stats.images_per_split.get(split, 0) for split in SPLITS}


def build_dataset(
    base: AnnotationSet,
    reviewed: AnnotationSet,
    out_dir: Path,
    *,
    ratios: tuple[float, float, float],
    lineage: dict[str, Any],
) -> BuiltDataset:
    """Write base + reviewed images to ``out_dir`` (replacing what is there) split by content hash."""
    combined = AnnotationSet(images=[*base.images, *reviewed.images], class_names=CLASS_NAMES)
    split = assign_splits(combined, ratios)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    log.info(
        "writing %d images (%d base, %d reviewed) to %s",
        len(split.images),
        len(base.images),
        len(reviewed.images),
        out_dir,
    )
    data_yaml = write_yolo(split, out_dir, copy_images=True)
    config = yaml.safe_load(data_yaml.read_text())
    # An absolute path would point back at this directory from every checkout of the version.
    config.pop("path", None)
    data_yaml.write_text(yaml.safe_dump(config, sort_keys=False))
    counts, images = count_boxes(split)
    (out_dir / LINEAGE_FILE).write_text(json.dumps({**lineage, "counts": counts, "images": images}, indent=2))
    return BuiltDataset(data_yaml=data_yaml, counts=counts, images=images)


def read_lineage(dataset_dir: Path) -> dict[str, Any]:
    """The ``maskops.json`` of a built dataset; empty when it has none (an older layout)."""
    path = dataset_dir / LINEAGE_FILE
    if not path.is_file():
        return {}
    return json.loads(path.read_text())
