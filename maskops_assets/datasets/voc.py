"""Pascal VOC XML datasets, including the layout of the public Kaggle face-mask dataset.

Layouts read: Kaggle's ``images/*.png`` beside ``annotations/*.xml``, and classic VOC's
``JPEGImages/`` beside ``Annotations/``, with the split lists in ``ImageSets/Main/<split>.txt``
when present. Layout written: ``images/``, ``annotations/``, ``ImageSets/Main/<split>.txt``
for the splits that have images, and ``classes.txt`` (one class name per line, in id
order) so a VOC copy keeps the class order and classes without boxes.

Coordinates are taken as pixel corners as written, the way ultralytics' own VOC
converter reads them; written coordinates are rounded to whole pixels, as VOC has them.

Image size: the image file decides, not ``<size>``. VOC boxes are pixels of the image
they were drawn on, so normalising them (for YOLO, Label Studio) by anything but the
real size misplaces every box. Each image's header is read (Pillow, no pixel decoding):
an unreadable or missing image is an error naming the image; a ``<size>`` that is
missing or 0 is filled in silently; a ``<size>`` that disagrees with the image is a
warning naming the XML, the image and both sizes, and the image's size is used (a box
that then lies outside the image is still an error, as a box drawn on a resized copy
should be). Garbage in ``<size>`` (not a number) is an error, as any other broken field.

File names: annotation files are ``*.xml`` in any case, and an image is found by its
``<filename>`` or, when that is stale, by the XML's stem, with the suffix in any case
(``x.PNG`` on disk answers ``<filename>x.png</filename>``).

Object flags: ``<difficult>`` and ``<truncated>`` (0 or 1) are read into the box and
written back; ``<occluded>`` is written as 0, as maskops has no use for it.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

from maskops_assets.datasets.annotations import (
    AnnotationSet,
    BoxAnnotation,
    DatasetFormatError,
    ImageAnnotation,
)
from maskops_assets.datasets.images import ImageFolder, image_size, output_names, place_image
from maskops_assets.datasets.sources import CLASSES_FILE, read_classes_file, write_classes_file
from maskops_assets.datasets.validation import ValidationLog, checked_box, checked_flag, checked_image_size
from maskops_contracts.classes import CLASS_NAMES

log = logging.getLogger(__name__)

_ANNOTATION_DIRS = ("annotations", "Annotations")
_IMAGE_DIRS = ("images", "JPEGImages")
_SPLIT_FILES = ("train", "val", "test")
_PROGRESS_EVERY = 500


def read_voc(
    root: Path,
    *,
    class_names: tuple[str, ...] | None = None,
    validation: ValidationLog | None = None,
) -> AnnotationSet:
    """Read every ``*.xml`` (any case) in the annotations folder of ``root``.

    Class names: ``class_names`` if given, else ``classes.txt`` in ``root``, else the
    detector's classes. A box of any other class is an unknown-class error. A ``<size>``
    that disagrees with the image file is recorded as a warning in ``validation``.
    """
    validation = validation or ValidationLog()
    root = Path(root)
    if not root.is_dir():
        raise DatasetFormatError(root, "VOC dataset folder not found")
    names = class_names or read_classes_file(root / CLASSES_FILE) or CLASS_NAMES
    annotations_dir = _first_dir(root, _ANNOTATION_DIRS) or root
    images_dir = ImageFolder(_first_dir(root, _IMAGE_DIRS) or annotations_dir)
    xml_files = sorted(p for p in annotations_dir.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
    if not xml_files:
        raise DatasetFormatError(annotations_dir, "no .xml annotation files found")
    splits = _read_split_lists(root)

    images: list[ImageAnnotation] = []
    for n, xml_path in enumerate(xml_files, start=1):
        try:
            image = _read_xml(xml_path, images_dir, names, validation)
        except DatasetFormatError as exc:
            validation.reject_error(exc)
            continue
        split = splits.get(xml_path.stem)
        images.append(ImageAnnotation(image.image, image.width, image.height, image.boxes, split))
        if n % _PROGRESS_EVERY == 0:
            log.info("read %d/%d VOC annotation files from %s", n, len(xml_files), annotations_dir)
    return AnnotationSet(images=images, class_names=names)


def write_voc(ds: AnnotationSet, out_dir: Path, *, copy_images: bool = True) -> Path:
    """Write ``ds`` as VOC XML under ``out_dir`` (layout in the module docstring); returns ``out_dir``."""
    out_dir = Path(out_dir)
    (out_dir / "annotations").mkdir(parents=True, exist_ok=True)
    # One flat images folder, so names must be unique across splits.
    names = output_names([_unsplit(image) for image in ds.images])
    split_members: dict[str, list[str]] = {}
    for n, (image, name) in enumerate(zip(ds.images, names, strict=True), start=1):
        place_image(image.image, out_dir / "images" / name, copy=copy_images)
        stem = Path(name).stem
        tree = _xml_tree(image, name, ds.class_names)
        tree.write(out_dir / "annotations" / f"{stem}.xml", encoding="utf-8", xml_declaration=False)
        if image.split:
            split_members.setdefault(image.split, []).append(stem)
        if n % _PROGRESS_EVERY == 0:
            log.info("wrote %d/%d VOC annotation files to %s", n, len(ds.images), out_dir)
    for split, stems in split_members.items():
        split_file = out_dir / "ImageSets" / "Main" / f"{split}.txt"
        split_file.parent.mkdir(parents=True, exist_ok=True)
        split_file.write_text("".join(f"{stem}\n" for stem in stems))
    write_classes_file(out_dir / CLASSES_FILE, ds.class_names)
    return out_dir


def _unsplit(image: ImageAnnotation) -> ImageAnnotation:
    return ImageAnnotation(image.image, image.width, image.height, image.boxes, None)


def _first_dir(root: Path, candidates: tuple[str, ...]) -> Path | None:
    for name in candidates:
        if (root / name).is_dir():
            return root / name
    return None


def _read_split_lists(root: Path) -> dict[str, str]:
    split_of: dict[str, str] = {}
    for split in _SPLIT_FILES:
        list_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if list_file.is_file():
            for line in list_file.read_text().splitlines():
                # Classic VOC per-class lists carry a second column (1/-1); the id is the first.
                if line.split():
                    split_of.setdefault(line.split()[0], split)
    return split_of


def _read_xml(
    xml_path: Path, images_dir: ImageFolder, class_names: tuple[str, ...], validation: ValidationLog
) -> ImageAnnotation:
    if xml_path.stat().st_size == 0 or not xml_path.read_bytes().strip():
        raise DatasetFormatError(xml_path, "file is empty; expected a VOC <annotation> document")
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise DatasetFormatError(xml_path, f"malformed XML ({exc.msg})", line=line) from None
    if root.tag != "annotation":
        raise DatasetFormatError(xml_path, f"root element is <{root.tag}>, expected <annotation>")

    image_path = _image_path(root, xml_path, images_dir)
    declared = _declared_size(root, xml_path)
    # The image file decides (module docstring); an unreadable image is an error naming it.
    width, height = image_size(image_path)
    mismatch = (
        f"<size> says {declared[0]}x{declared[1]} but the image {image_path} is {width}x{height}"
        if declared is not None and declared != (width, height)
        else None
    )
    boxes = []
    for i, obj in enumerate(root.findall("object"), start=1):
        class_name = (obj.findtext("name") or "").strip()
        what = f"object #{i} ({class_name or 'no <name>'})"
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise DatasetFormatError(xml_path, f"{what} has no <bndbox>")
        coords = []
        for tag in ("xmin", "ymin", "xmax", "ymax"):
            text = bndbox.findtext(tag)
            try:
                coords.append(float(text))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise DatasetFormatError(xml_path, f"{what} <{tag}> is {text!r}, not a number") from None
        difficult, truncated = (
            checked_flag(obj.findtext(tag), path=xml_path, what=f"{what} <{tag}>")
            for tag in ("difficult", "truncated")
        )
        box = BoxAnnotation(*coords, class_name, difficult=difficult, truncated=truncated)
        try:
            boxes.append(checked_box(box, width, height, class_names, path=xml_path, what=what))
        except DatasetFormatError as exc:
            if mismatch is None:
                raise
            raise DatasetFormatError(xml_path, f"{exc.problem} ({mismatch})") from None
    if mismatch is not None:
        # Only once the file is accepted: a skipped file is reported once, as skipped.
        validation.warn(xml_path, f"{mismatch}; using the image's size {width}x{height}")
    return ImageAnnotation(image_path, width, height, tuple(boxes))


def _image_path(root: ET.Element, xml_path: Path, images_dir: ImageFolder) -> Path:
    filename = (root.findtext("filename") or "").strip()
    found = images_dir.find(filename) if filename else None
    # Kaggle and many exports name the image like the XML; <filename> is sometimes stale.
    found = found or images_dir.find_stem(xml_path.stem)
    if found is None:
        wanted = filename or f"{xml_path.stem}.<image suffix>"
        raise DatasetFormatError(xml_path, f"image {wanted} is missing from {images_dir.folder}")
    return found


def _declared_size(root: ET.Element, xml_path: Path) -> tuple[int, int] | None:
    """``<size>`` as (width, height); None when it is missing or 0, as some exporters write it."""
    size = root.find("size")
    width = size.findtext("width") if size is not None else None
    height = size.findtext("height") if size is not None else None
    if width is None or height is None or width.strip() in ("", "0") or height.strip() in ("", "0"):
        return None
    return checked_image_size(width.strip(), height.strip(), path=xml_path)


def _xml_tree(image: ImageAnnotation, filename: str, class_names: tuple[str, ...]) -> ET.ElementTree:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "images"
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(image.width)
    ET.SubElement(size, "height").text = str(image.height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for i, box in enumerate(image.boxes, start=1):
        box = checked_box(box, image.width, image.height, class_names, path=image.image, what=f"box {i}")
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = box.class_name
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = str(int(box.truncated))
        ET.SubElement(obj, "occluded").text = "0"
        ET.SubElement(obj, "difficult").text = str(int(box.difficult))
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), _pixel_corners(box), strict=True):
            ET.SubElement(bndbox, tag).text = str(value)
    ET.indent(root)
    return ET.ElementTree(root)


def _pixel_corners(box: BoxAnnotation) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (round(v) for v in (box.x1, box.y1, box.x2, box.y2))
    # A box narrower than a pixel must not round away to nothing.
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)
