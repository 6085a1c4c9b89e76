"""The "recent data" a candidate is also judged on: the newest reviewed labels, else a shifted set.

Cameras drift away from the training data, so a model is measured on what the cameras saw lately:
the newest accepted batch of reviewed labels in the object store, written as a YOLO test split.
Before any label has been reviewed, a generated shifted-domain set (darker, bluer, blurrier, smaller
faces) stands in for it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from maskops_assets.store import ObjectStore

RECENT_SPLIT = "test"


def newest_reviewed_set(store: ObjectStore, out_dir: Path) -> tuple[Path, str] | None:
    """(data.yaml, label batch id) of the newest reviewed label batch, or None when there is none."""
    from maskops_assets.datasets.yolo import write_yolo
    from maskops_assets.labels.reviewed import download_reviewed, list_label_batches

    batches = list_label_batches(store)
    if not batches:
        return None
    newest = batches[-1]
    target = out_dir / f"reviewed-{newest}"
    if not (target / "data.yaml").is_file():
        annotations = download_reviewed(store, [newest], target / "downloaded")
        annotations.images = [dataclasses.replace(image, split=RECENT_SPLIT) for image in annotations.images]
        _evaluation_only(write_yolo(annotations, target / "yolo"), target / "data.yaml")
    return target / "data.yaml", newest


def shifted_set(out_dir: Path, *, n_images: int, seed: int, imgsz: int) -> Path:
    """data.yaml of ``n_images`` generated shifted-domain images (cached by its recipe)."""
    from maskops_assets.synthetic.dataset import generate_dataset
    from maskops_assets.synthetic.domain import SceneDomain

    target = out_dir / f"shifted-n{n_images}-s{seed}-{imgsz}px"
    if not (target / "data.yaml").is_file():
        print(f"generating {n_images} shifted-domain images for evaluation in {target}", flush=True)
        data_yaml = generate_dataset(
            target / "yolo",
            n_images,
            domain=SceneDomain.shifted(),
            seed=seed,
            image_size=imgsz,
            splits={RECENT_SPLIT: 1.0},
            overwrite=True,
        )
        _evaluation_only(data_yaml, target / "data.yaml")
    return target / "data.yaml"


def _evaluation_only(data_yaml: Path, target: Path) -> None:
    """Copy ``data_yaml`` to ``target`` with train/val pointing at the test images.

    ultralytics insists on train and val keys even to evaluate a test split; the copy is written
    last so a half-built set is never picked up from the cache.
    """
    data = yaml.safe_load(data_yaml.read_text())
    data["path"] = str(data_yaml.parent.resolve())
    data.setdefault("train", data[RECENT_SPLIT])
    data.setdefault("val", data[RECENT_SPLIT])
    target.write_text(yaml.safe_dump(data, sort_keys=False))
