"""Write a synthetic scene dataset in the ultralytics YOLO layout.

``OUT/images/<split>/*.jpg``, ``OUT/labels/<split>/*.txt`` (``class cx cy w h``,
normalised), ``OUT/data.yaml`` for ultralytics and ``OUT/scenes.yaml`` saying how
the data was made (seed, domain, counts per class), so a dataset on disk can be
traced back to, and regenerated from, its recipe.

Every image has its own random stream, derived from ``(seed, split, index)``:
the test split stays the same when the train split grows, and one image can be
regenerated without the others.
"""

from __future__ import annotations

import logging
import shutil
import zlib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import yaml

from maskops_assets.datasets.annotations import AnnotationSet, ImageAnnotation
from maskops_assets.datasets.yolo import write_yolo
from maskops_assets.synthetic.domain import SceneDomain
from maskops_assets.synthetic.scenes import render_scene
from maskops_contracts.classes import CLASS_NAMES

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")
DEFAULT_SPLITS: Mapping[str, float] = {"train": 0.7, "val": 0.15, "test": 0.15}
JPEG_QUALITY = 95


def split_counts(n_images: int, splits: Mapping[str, float]) -> dict[str, int]:
    """Share ``n_images`` out by the relative ``splits`` weights; the counts sum to ``n_images`` exactly.

    Weights need not sum to 1: ``{"train": 120, "val": 30, "test": 60}`` with
    ``n_images=210`` gives exactly those counts.
    """
    unknown = sorted(set(splits) - set(SPLIT_NAMES))
    if unknown:
        raise ValueError(f"unknown split names {unknown}; use {list(SPLIT_NAMES)}")
    if n_images < 0 or any(weight < 0 for weight in splits.values()) or sum(splits.values()) <= 0:
        raise ValueError(
            f"need n_images >= 0 and non-negative split weights with a positive sum, got {splits}"
        )
    total = sum(splits.values())
    exact = {name: n_images * weight / total for name, weight in splits.items()}
    counts = {name: int(share) for name, share in exact.items()}
    # Largest remainder: hand the images lost to rounding down to the splits that lost the most.
    for name in sorted(exact, key=lambda n: exact[n] - counts[n], reverse=True)[
        : n_images - sum(counts.values())
    ]:
        counts[name] += 1
    return counts


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one image; crc32 rather than ``hash()`` so it is stable across processes."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(split.encode()), index]))


def generate_dataset(
    out_dir: Path | str,
    n_images: int,
    *,
    domain: SceneDomain | None = None,
    seed: int = 0,
    image_size: int | tuple[int, int] = 160,
    splits: Mapping[str, float] = DEFAULT_SPLITS,
    overwrite: bool = False,
) -> Path:
    """Render ``n_images`` scenes into ``out_dir`` in YOLO layout; returns the path of ``data.yaml``.

    ``image_size`` is one side of a square or ``(width, height)``. ``out_dir`` must
    hold no earlier dataset unless ``overwrite`` is set, so stale images from a
    bigger earlier run can never leak into the new one.
    """
    domain = domain or SceneDomain.default()
    width, height = (image_size, image_size) if isinstance(image_size, int) else image_size
    out_dir = Path(out_dir)
    counts = split_counts(n_images, splits)
    _prepare_out_dir(out_dir, overwrite)

    annotations = AnnotationSet()
    done = 0
    report_every = max(1, n_images // 10)
    for split, count in counts.items():
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image, boxes = render_scene(domain, image_rng(seed, split, index), width, height)
            image_path = out_dir / "images" / split / f"{split}_{index:05d}.jpg"
            _write_jpeg(image_path, image)
            annotations.images.append(
                ImageAnnotation(image=image_path, width=width, height=height, boxes=tuple(boxes), split=split)
            )
            done += 1
            if done % report_every == 0 or done == n_images:
                log.info("rendered %d/%d images (%s)", done, n_images, split)

    # The images are already in place, so write_yolo only adds labels and data.yaml.
    data_yaml = write_yolo(annotations, out_dir)
    _write_recipe(out_dir, annotations, domain=domain, seed=seed, width=width, height=height, counts=counts)
    log.info("dataset ready: %s", data_yaml)
    return data_yaml


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    existing = [out_dir / name for name in ("images", "labels", "data.yaml") if (out_dir / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a dataset ({', '.join(p.name for p in existing)}); "
            "pick an empty directory or pass overwrite=True (--overwrite on the CLI)"
        )
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_jpeg(path: Path, image: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the image as JPEG")
    path.write_bytes(encoded.tobytes())


def _write_recipe(
    out_dir: Path,
    annotations: AnnotationSet,
    *,
    domain: SceneDomain,
    seed: int,
    width: int,
    height: int,
    counts: Mapping[str, int],
) -> None:
    per_class: dict[str, Counter[str]] = {split: Counter() for split in counts}
    for item in annotations.images:
        per_class[str(item.split)].update(box.class_name for box in item.boxes)
    recipe = {
        "seed": seed,
        "image_size": [width, height],
        "images_per_split": dict(counts),
        "boxes_per_class": {
            split: {name: per_class[split][name] for name in CLASS_NAMES} for split in counts
        },
        "domain": domain.model_dump(mode="json"),
    }
    (out_dir / "scenes.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
