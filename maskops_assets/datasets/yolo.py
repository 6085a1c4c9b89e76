"""YOLO datasets in the ultralytics layout: ``data.yaml`` plus ``images/<split>/`` and ``labels/<split>/``.

A label file has one line per box, ``class cx cy w h``, all but the class normalized by
the image size. An image without a label file, or with an empty one, is a background
image (no faces), as ultralytics reads it. A label file is found from its image the way
ultralytics finds it: the last ``/images/`` in the path becomes ``/labels/`` and the
suffix becomes ``.txt``.

A label line cannot say "difficult", so difficult boxes (VOC's flag) are left out of the
labels by default, as ultralytics' own VOC converter does; ``keep_difficult`` writes
them as ordinary boxes instead. ultralytics refuses a data.yaml without ``train`` and
``val`` keys; ``fill_required_splits`` points a missing one at a split that has images
(val at train, for a dataset that has no val images) and says so, so that every data.yaml
``maskops-datasets`` writes can be trained and validated on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from maskops_assets.datasets.annotations import (
    AnnotationSet,
    BoxAnnotation,
    DatasetFormatError,
    ImageAnnotation,
    without_difficult,
)
from maskops_assets.datasets.images import image_size, is_image_file, output_names, place_image
from maskops_assets.datasets.validation import ValidationLog, checked_box

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
DEFAULT_SPLIT = "train"
# The keys ultralytics' check_det_dataset insists on ("'val:' key missing").
REQUIRED_SPLITS = ("train", "val")
_PROGRESS_EVERY = 500


def read_yolo(data_yaml: Path, *, validation: ValidationLog | None = None) -> AnnotationSet:
    """Read the dataset ``data_yaml`` describes; each image's ``split`` is the data.yaml key it is under.

    Bad input raises ``DatasetFormatError`` naming the file and line, unless
    ``validation`` skips invalid items (then the image is left out and recorded there).
    """
    validation = validation or ValidationLog()
    data_yaml = Path(data_yaml)
    config = _load_data_yaml(data_yaml)
    class_names = _class_names(config, data_yaml)
    root = _dataset_root(config, data_yaml)

    images: list[ImageAnnotation] = []
    seen: set[Path] = set()
    for split in _reading_order(config):
        for image_path in _split_images(config.get(split), split, root, data_yaml, validation):
            if image_path in seen:
                continue
            seen.add(image_path)
            try:
                images.append(_read_image(image_path, split, class_names))
            except DatasetFormatError as exc:
                validation.reject_error(exc)
            if len(seen) % _PROGRESS_EVERY == 0:
                log.info("read %d YOLO images from %s", len(seen), root)
    return AnnotationSet(images=images, class_names=class_names)


def write_yolo(
    ds: AnnotationSet,
    out_dir: Path,
    *,
    copy_images: bool = True,
    keep_difficult: bool = False,
    fill_required_splits: bool = False,
    validation: ValidationLog | None = None,
) -> Path:
    """Write ``ds`` in the ultralytics layout under ``out_dir``; returns the path of ``data.yaml``.

    Images go to ``images/<split>/`` (``split`` None means train), copied, or symlinked
    when ``copy_images`` is false; images already in place are left alone. Every image
    gets a label file, empty for a background image. Difficult boxes are left out unless
    ``keep_difficult`` (module docstring). data.yaml lists the splits that have images,
    with the absolute ``path`` ultralytics expects; with ``fill_required_splits`` a
    missing train or val key points at another split's images, recorded as a warning in
    ``validation``. ``out_dir`` should be new or hold this same dataset: files already
    there are overwritten, never removed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not keep_difficult:
        ds, left_out = without_difficult(ds)
        if left_out:
            log.info("left %d difficult box(es) out of the YOLO labels in %s", left_out, out_dir)
    class_index = {name: i for i, name in enumerate(ds.class_names)}
    for image in ds.images:
        if (image.split or DEFAULT_SPLIT) not in SPLITS:
            raise DatasetFormatError(image.image, f"split {image.split!r} is not one of {', '.join(SPLITS)}")

    written_splits: set[str] = set()
    names = output_names([_with_default_split(image) for image in ds.images])
    for n, (image, name) in enumerate(zip(ds.images, names, strict=True), start=1):
        split = image.split or DEFAULT_SPLIT
        place_image(image.image, out_dir / "images" / split / name, copy=copy_images)
        label_path = out_dir / "labels" / split / f"{Path(name).stem}.txt"
        label_path.parent.mkdir(parents=True, exist_ok=True)
        label_path.write_text(_label_text(image, class_index, ds.class_names))
        written_splits.add(split)
        if n % _PROGRESS_EVERY == 0:
            log.info("wrote %d/%d YOLO images to %s", n, len(ds.images), out_dir)

    data_yaml = out_dir / "data.yaml"
    folders = {split: f"images/{split}" for split in SPLITS if split in written_splits}
    if fill_required_splits:
        for missing, stand_in in stand_in_splits(written_splits).items():
            folders[missing] = folders[stand_in]
            (validation or ValidationLog()).warn(
                data_yaml,
                f"the dataset has no {missing} images; '{missing}' points at the {stand_in} images "
                f"({folders[stand_in]}) because ultralytics requires train and val",
            )
    config: dict[str, object] = {"path": str(out_dir.resolve())}
    config.update((split, folders[split]) for split in SPLITS if split in folders)
    config["names"] = dict(enumerate(ds.class_names))
    data_yaml.write_text(yaml.safe_dump(config, sort_keys=False))
    return data_yaml


def stand_in_splits(written: set[str] | frozenset[str]) -> dict[str, str]:
    """For each split ultralytics requires that has no images, the split whose images stand in for it.

    val is stood in for by train (else test), train by val (else test). Nothing is
    returned for a required split when no split has images at all.
    """
    stand_ins: dict[str, str] = {}
    for required in REQUIRED_SPLITS:
        if required not in written:
            stand_in = next((split for split in SPLITS if split != required and split in written), None)
            if stand_in is not None:
                stand_ins[required] = stand_in
    return stand_ins


def _reading_order(config: dict) -> list[str]:
    """The split keys in the order their images are claimed: an image listed under several keys
    belongs to the first.

    A key whose folder is named like it (``test: images/test``) comes first, so a stand-in
    (``val: images/train``, or ``train: images/test`` for a test-only set) never moves an
    image out of the split it was written to; the rest follow in train, val, test order,
    so a plain ``val`` that repeats ``train`` counts as train, as before.
    """
    own = [
        split for split in SPLITS if isinstance(entry := config.get(split), str) and Path(entry).name == split
    ]
    return own + [split for split in SPLITS if split not in own]


def label_path_for(image_path: Path) -> Path:
    """The label file ultralytics reads for ``image_path``."""
    images_dir, labels_dir = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    text = str(image_path)
    if images_dir in text:
        head, tail = text.rsplit(images_dir, 1)
        text = head + labels_dir + tail
    return Path(text).with_suffix(".txt")


def _with_default_split(image: ImageAnnotation) -> ImageAnnotation:
    if image.split:
        return image
    return ImageAnnotation(image.image, image.width, image.height, image.boxes, DEFAULT_SPLIT)


def _label_text(image: ImageAnnotation, class_index: dict[str, int], class_names: tuple[str, ...]) -> str:
    lines = []
    for i, box in enumerate(image.boxes, start=1):
        box = checked_box(box, image.width, image.height, class_names, path=image.image, what=f"box {i}")
        cx = (box.x1 + box.x2) / 2 / image.width
        cy = (box.y1 + box.y2) / 2 / image.height
        w = (box.x2 - box.x1) / image.width
        h = (box.y2 - box.y1) / image.height
        lines.append(f"{class_index[box.class_name]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    return "".join(lines)


def _load_data_yaml(data_yaml: Path) -> dict:
    if not data_yaml.is_file():
        raise DatasetFormatError(data_yaml, "data.yaml not found; pass the dataset's data.yaml file")
    text = data_yaml.read_text()
    if not text.strip():
        raise DatasetFormatError(data_yaml, "file is empty; expected path/train/val/test/names")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = f"not valid YAML ({getattr(exc, 'problem', exc)})"
        raise DatasetFormatError(data_yaml, problem, line=line) from None
    if not isinstance(config, dict):
        raise DatasetFormatError(data_yaml, "expected a mapping with path/train/val/test/names")
    return config


def _class_names(config: dict, data_yaml: Path) -> tuple[str, ...]:
    names = config.get("names")
    if isinstance(names, list) and names:
        result = tuple(str(n) for n in names)
    elif isinstance(names, dict) and names:
        try:
            by_id = {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            raise DatasetFormatError(data_yaml, "'names' keys must be class ids 0, 1, 2, ...") from None
        if sorted(by_id) != list(range(len(by_id))):
            problem = f"'names' ids must be 0..{len(by_id) - 1}, got {sorted(by_id)}"
            raise DatasetFormatError(data_yaml, problem)
        result = tuple(by_id[i] for i in range(len(by_id)))
    else:
        raise DatasetFormatError(data_yaml, "'names' is missing or empty; list the class names in id order")
    nc = config.get("nc")
    if nc is not None and nc != len(result):
        raise DatasetFormatError(data_yaml, f"'nc' is {nc} but 'names' has {len(result)} classes")
    return result


def _dataset_root(config: dict, data_yaml: Path) -> Path:
    path = config.get("path")
    if not path:
        return data_yaml.parent.resolve()
    root = Path(str(path)).expanduser()
    if not root.is_absolute():
        root = data_yaml.parent / root
    if not root.is_dir():
        # A dataset copied elsewhere (a DVC checkout) still names its old absolute path.
        log.warning("%s: 'path' %s does not exist; reading relative to the data.yaml folder", data_yaml, root)
        return data_yaml.parent.resolve()
    return root.resolve()


def _split_images(
    entry: object, split: str, root: Path, data_yaml: Path, validation: ValidationLog
) -> Iterable[Path]:
    """Image paths of one split: data.yaml allows a folder, an image-list .txt file, or a list of those."""
    if entry is None:
        return
    entries = entry if isinstance(entry, list) else [entry]
    for item in entries:
        source = Path(str(item))
        source = source if source.is_absolute() else root / source
        if source.is_dir():
            yield from sorted(p for p in source.rglob("*") if is_image_file(p))
            _reject_orphan_labels(source, validation)
        elif source.is_file() and source.suffix == ".txt":
            yield from _listed_images(source, root, validation)
        else:
            problem = f"'{split}' points to {source}, which is not a folder or a .txt list of images"
            raise DatasetFormatError(data_yaml, problem)


def _listed_images(list_file: Path, root: Path, validation: ValidationLog) -> Iterable[Path]:
    for line_no, line in enumerate(list_file.read_text().splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        path = Path(entry)
        path = path if path.is_absolute() else (root / path).resolve()
        if not path.is_file():
            validation.reject(list_file, f"listed image {entry} is missing", line=line_no)
            continue
        yield path


def _reject_orphan_labels(images_dir: Path, validation: ValidationLog) -> None:
    """A label file whose image is gone is a missing image, not something to drop quietly."""
    labels_dir = label_path_for(images_dir / "x").parent
    if labels_dir == images_dir or not labels_dir.is_dir():
        return
    image_stems = {
        p.relative_to(images_dir).with_suffix("") for p in images_dir.rglob("*") if is_image_file(p)
    }
    for label in sorted(labels_dir.rglob("*.txt")):
        if label.relative_to(labels_dir).with_suffix("") not in image_stems:
            validation.reject(label, f"label file has no image (missing image in {images_dir})")


def _read_image(image_path: Path, split: str, class_names: tuple[str, ...]) -> ImageAnnotation:
    width, height = image_size(image_path)
    label_path = label_path_for(image_path)
    boxes: list[BoxAnnotation] = []
    if label_path.is_file():
        for line_no, line in enumerate(label_path.read_text().splitlines(), start=1):
            if line.strip():
                boxes.append(_parse_label_line(line, line_no, label_path, width, height, class_names))
    return ImageAnnotation(image_path, width, height, tuple(boxes), split)


def _parse_label_line(
    line: str, line_no: int, label_path: Path, width: int, height: int, class_names: tuple[str, ...]
) -> BoxAnnotation:
    fields = line.split()
    if len(fields) != 5:
        raise DatasetFormatError(
            label_path, f"expected 5 fields 'class cx cy w h', got {len(fields)}", line=line_no
        )
    try:
        class_value = float(fields[0])
        cx, cy, w, h = (float(v) for v in fields[1:])
    except ValueError:
        problem = f"fields must be numbers: {line.strip()!r}"
        raise DatasetFormatError(label_path, problem, line=line_no) from None
    class_id = int(class_value)
    if class_id != class_value or not 0 <= class_id < len(class_names):
        raise DatasetFormatError(
            label_path,
            f"unknown class id {fields[0]}; data.yaml names classes 0..{len(class_names) - 1}",
            line=line_no,
        )
    box = BoxAnnotation(
        (cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height,
        class_names[class_id],
    )
    return checked_box(box, width, height, class_names, path=label_path, line=line_no)
