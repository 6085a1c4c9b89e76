"""COCO object-detection JSON: ``images``, ``categories`` and ``annotations`` with ``bbox`` [x, y, w, h].

Read from the JSON file itself, or from a folder holding ``annotations.json`` (or a
single ``*.json``). Image ``file_name``s are looked up in ``image_root`` (default: the
JSON's folder, then its ``images/`` subfolder). Written as ``annotations.json`` beside
``images/``, category ids from 1 in class order. COCO has no split field; the image's
split is kept in a ``split`` key on each image entry, which COCO tools ignore.

COCO has no difficult or truncated flag either. They are kept as extra ``difficult`` and
``truncated`` keys (1) on an annotation, written only when set, and read back (0/1 or
true/false). ``iscrowd`` stays 0: it means "a group of objects in one box", and COCO
evaluation would treat the box as a crowd region, which a difficult face is not.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path

from maskops_assets.datasets.annotations import (
    AnnotationSet,
    BoxAnnotation,
    DatasetFormatError,
    ImageAnnotation,
)
from maskops_assets.datasets.images import output_names, place_image
from maskops_assets.datasets.sources import find_json, load_json
from maskops_assets.datasets.validation import ValidationLog, checked_box, checked_flag, checked_image_size

log = logging.getLogger(__name__)

ANNOTATIONS_FILE = "annotations.json"
# Box flags COCO has no field for, kept as extra annotation keys (module docstring).
_FLAGS = ("difficult", "truncated")


def read_coco(
    src: Path, *, image_root: Path | None = None, validation: ValidationLog | None = None
) -> AnnotationSet:
    """Read a COCO detection file; an image with any bad annotation is skipped or raises."""
    validation = validation or ValidationLog()
    json_path = find_json(Path(src), ANNOTATIONS_FILE)
    doc = load_json(json_path)
    if not isinstance(doc, dict):
        raise DatasetFormatError(json_path, "expected a JSON object with images, annotations and categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise DatasetFormatError(json_path, f"'{key}' is missing or not a list")
    roots = [Path(image_root)] if image_root else [json_path.parent, json_path.parent / "images"]

    category_names = _categories(doc["categories"], json_path)
    class_names = tuple(category_names[cid] for cid in sorted(category_names))
    boxes_by_image: dict[object, list[tuple[int, dict]]] = defaultdict(list)
    for i, ann in enumerate(doc["annotations"]):
        image_id = ann.get("image_id") if isinstance(ann, dict) else None
        boxes_by_image[image_id].append((i, ann))

    images: list[ImageAnnotation] = []
    known_ids: set[object] = set()
    for entry in doc["images"]:
        image_id = entry.get("id") if isinstance(entry, dict) else None
        known_ids.add(image_id)
        try:
            images.append(
                _read_image(entry, boxes_by_image.get(image_id, []), category_names, roots, json_path)
            )
        except DatasetFormatError as exc:
            validation.reject_error(exc)
    for image_id, anns in boxes_by_image.items():
        if image_id not in known_ids:
            ids = ", ".join(str(ann.get("id", f"#{i}")) for i, ann in anns if isinstance(ann, dict))
            problem = f"annotations {ids} refer to image_id {image_id!r}, which is not in 'images'"
            validation.reject(json_path, problem)
    return AnnotationSet(images=images, class_names=class_names)


def write_coco(ds: AnnotationSet, out_dir: Path, *, copy_images: bool = True) -> Path:
    """Write ``ds`` as ``out_dir/annotations.json`` plus ``out_dir/images/``; returns the JSON path."""
    out_dir = Path(out_dir)
    category_id = {name: i for i, name in enumerate(ds.class_names, start=1)}
    doc: dict[str, list] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i, "name": name, "supercategory": "face"} for name, i in category_id.items()],
    }
    names = output_names([ImageAnnotation(im.image, im.width, im.height, im.boxes) for im in ds.images])
    for image_id, (image, name) in enumerate(zip(ds.images, names, strict=True), start=1):
        place_image(image.image, out_dir / "images" / name, copy=copy_images)
        entry: dict[str, object] = {
            "id": image_id, "file_name": name, "width": image.width, "height": image.height
        }
        if image.split:
            entry["split"] = image.split
        doc["images"].append(entry)
        for i, box in enumerate(image.boxes, start=1):
            box = checked_box(
                box, image.width, image.height, ds.class_names, path=image.image, what=f"box {i}"
            )
            w, h = box.x2 - box.x1, box.y2 - box.y1
            annotation: dict[str, object] = {
                "id": len(doc["annotations"]) + 1,
                "image_id": image_id,
                "category_id": category_id[box.class_name],
                "bbox": [round(box.x1, 3), round(box.y1, 3), round(w, 3), round(h, 3)],
                "area": round(w * h, 3),
                "iscrowd": 0,
            }
            for flag in _FLAGS:
                if getattr(box, flag):
                    annotation[flag] = 1
            doc["annotations"].append(annotation)
    json_path = out_dir / ANNOTATIONS_FILE
    json_path.write_text(json.dumps(doc, indent=1))
    return json_path


def _categories(categories: list, json_path: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    for cat in categories:
        if not isinstance(cat, dict) or not isinstance(cat.get("id"), int) or not cat.get("name"):
            raise DatasetFormatError(json_path, f"category {cat!r} needs an integer 'id' and a 'name'")
        names[cat["id"]] = str(cat["name"])
    if not names:
        raise DatasetFormatError(json_path, "'categories' is empty; list the class names")
    if len(set(names.values())) != len(names):
        raise DatasetFormatError(json_path, "two categories share a name")
    return names


def _read_image(
    entry: object,
    anns: list[tuple[int, dict]],
    category_names: dict[int, str],
    roots: list[Path],
    json_path: Path,
) -> ImageAnnotation:
    if not isinstance(entry, dict) or "file_name" not in entry:
        problem = f"image entry {entry!r} needs 'id', 'file_name', 'width' and 'height'"
        raise DatasetFormatError(json_path, problem)
    file_name = str(entry["file_name"])
    width, height = checked_image_size(
        entry.get("width"), entry.get("height"), path=json_path, what=f"image {file_name}"
    )
    image_path = next((root / file_name for root in roots if (root / file_name).is_file()), None)
    if image_path is None:
        where = " or ".join(str(root) for root in roots)
        raise DatasetFormatError(json_path, f"image {file_name} is missing (looked in {where})")
    class_names = tuple(category_names.values())
    boxes = []
    for i, ann in anns:
        what = f"annotation {ann.get('id', f'#{i}')} of image {file_name}"
        category = category_names.get(ann.get("category_id"))  # type: ignore[arg-type]
        if category is None:
            raise DatasetFormatError(json_path, f"{what} has unknown category_id {ann.get('category_id')!r}")
        bbox = ann.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)):
            raise DatasetFormatError(json_path, f"{what} has bbox {bbox!r}; expected [x, y, width, height]")
        x, y, w, h = (float(v) for v in bbox)
        difficult, truncated = (
            checked_flag(ann.get(flag), path=json_path, what=f"{what} '{flag}'") for flag in _FLAGS
        )
        box = BoxAnnotation(x, y, x + w, y + h, category, difficult=difficult, truncated=truncated)
        boxes.append(checked_box(box, width, height, class_names, path=json_path, what=what))
    split = entry.get("split")
    return ImageAnnotation(image_path, width, height, tuple(boxes), split if isinstance(split, str) else None)
