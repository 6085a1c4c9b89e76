"""Small datasets built in code for the dataset tests: real image files on disk, boxes of all three classes.

A module of its own (not conftest) so tests can import the builders by a name no other
test folder uses.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from maskops_assets.datasets.annotations import AnnotationSet, BoxAnnotation, ImageAnnotation
from maskops_contracts.classes import CLASS_NAMES

WITH, WITHOUT, INCORRECT = CLASS_NAMES


def write_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A small noisy image, different for every seed so content hashes differ."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels), path
    return path


def build_sample_set(image_dir: Path) -> AnnotationSet:
    """Four png/jpg images of three sizes: boxes of every class, all three splits, one background."""
    specs = [
        ("face_a.png", 96, 64, "train", (
            BoxAnnotation(4.0, 6.0, 30.5, 40.25, WITH),
            BoxAnnotation(40.0, 10.0, 70.0, 50.0, WITHOUT),
        )),
        ("face_b.jpg", 128, 80, "val", (
            BoxAnnotation(0.0, 0.0, 20.0, 22.0, INCORRECT),
            BoxAnnotation(60.25, 30.5, 128.0, 80.0, WITH),
        )),
        ("face_c.png", 80, 96, "test", (
            BoxAnnotation(10.0, 12.0, 50.0, 60.0, WITHOUT),
            BoxAnnotation(52.0, 60.0, 79.0, 95.0, INCORRECT),
            BoxAnnotation(1.0, 70.0, 20.0, 90.0, WITH),
        )),
        ("empty_room.png", 64, 64, "train", ()),
    ]
    images = []
    for seed, (name, width, height, split, boxes) in enumerate(specs):
        path = write_image(image_dir / name, width, height, seed)
        images.append(ImageAnnotation(path, width, height, boxes, split))
    return AnnotationSet(images=images)


def box_signature(ds: AnnotationSet) -> dict[str, list[tuple[str, float, float, float, float]]]:
    """Boxes per image file name, sorted, for comparing datasets across formats."""
    return {
        image.image.name: sorted((b.class_name, b.x1, b.y1, b.x2, b.y2) for b in image.boxes)
        for image in ds.images
    }


def splits_by_name(ds: AnnotationSet) -> dict[str, str | None]:
    return {image.image.name: image.split for image in ds.images}


def assert_same_boxes(a: AnnotationSet, b: AnnotationSet, tol: float = 0.5) -> None:
    sig_a, sig_b = box_signature(a), box_signature(b)
    assert sorted(sig_a) == sorted(sig_b)
    for name, boxes in sig_a.items():
        other = sig_b[name]
        assert len(boxes) == len(other), name
        for box, box_b in zip(boxes, other, strict=True):
            assert box[0] == box_b[0], name
            assert np.allclose(box[1:], box_b[1:], atol=tol), (name, box, box_b)


VocObject = tuple[str, int, int, int, int] | tuple[str, int, int, int, int, int, int]


def kaggle_xml(filename: str, width: int, height: int, objects: list[VocObject]) -> str:
    """An annotation file as the Kaggle face-mask dataset ships them.

    An object is (class, xmin, ymin, xmax, ymax), optionally followed by difficult and
    truncated (0 or 1; both 0 when left out).
    """
    parts = [
        "<annotation>\n    <folder>images</folder>\n",
        f"    <filename>{filename}</filename>\n",
        f"    <size>\n        <width>{width}</width>\n        <height>{height}</height>\n",
        "        <depth>3</depth>\n    </size>\n    <segmented>0</segmented>\n",
    ]
    for name, x1, y1, x2, y2, *flags in objects:
        difficult, truncated = flags or (0, 0)
        parts.append(
            f"    <object>\n        <name>{name}</name>\n        <pose>Unspecified</pose>\n"
            f"        <truncated>{truncated}</truncated>\n        <occluded>0</occluded>\n"
            f"        <difficult>{difficult}</difficult>\n"
            f"        <bndbox>\n            <xmin>{x1}</xmin>\n            <ymin>{y1}</ymin>\n"
            f"            <xmax>{x2}</xmax>\n            <ymax>{y2}</ymax>\n"
            "        </bndbox>\n    </object>\n"
        )
    parts.append("</annotation>")
    return "".join(parts)


def write_kaggle_set(root: Path, files: dict[str, tuple[int, int, list[VocObject]]]) -> Path:
    """``root/images/<stem>.png`` (real images of the given size) beside ``root/annotations/<stem>.xml``."""
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for seed, (stem, (width, height, objects)) in enumerate(files.items()):
        write_image(root / "images" / f"{stem}.png", width, height, seed)
        (root / "annotations" / f"{stem}.xml").write_text(kaggle_xml(f"{stem}.png", width, height, objects))
    return root

