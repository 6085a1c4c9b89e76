"""Label Studio JSON: the export (a list of tasks) read as labels, and tasks written for import.

A task is ``{"data": {"image": ref}, "annotations": [{"result": [region, ...]}]}``; a
region of type ``rectanglelabels`` has ``value`` x/y/width/height in percent of
``original_width``/``original_height`` and one label. Of several annotations on a task
the latest (``updated_at``, else ``created_at``, else the last listed) that was not
cancelled counts. ``predictions`` (model pre-annotations) count only when asked, and
only for tasks nobody annotated. A task without either is not labelled yet and is left
out; an annotation with no regions is a reviewed image with no faces and is kept.

Image references are resolved against ``image_root`` (default: the JSON's folder):
``/data/local-files/?d=<path>`` (local storage, ``d`` relative to the document root),
``/data/upload/<project>/<file>`` (uploads, stored as ``<hash>-<name>``), URLs (by file
name), and plain paths. Written tasks refer to ``/data/local-files/?d=images/<name>``, so
serving the output folder as Label Studio's local-files document root shows them.

A box's ``difficult`` and ``truncated`` flags go in its region's ``meta`` object
(``"meta": {"difficult": true}``), written only when set and read back. Label Studio
keeps a region's ``meta`` as it was imported and only adds its own ``text`` key when a
reviewer writes a note, so the flags survive a review round trip.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, quote, unquote, urlparse

from maskops_assets.datasets.annotations import (
    AnnotationSet,
    BoxAnnotation,
    DatasetFormatError,
    ImageAnnotation,
)
from maskops_assets.datasets.images import image_size, output_names, place_image
from maskops_assets.datasets.sources import (
    CLASSES_FILE,
    find_json,
    load_json,
    read_classes_file,
    write_classes_file,
)
from maskops_assets.datasets.validation import ValidationLog, checked_box, checked_flag, checked_image_size
from maskops_contracts.classes import CLASS_NAMES

log = logging.getLogger(__name__)

TASKS_FILE = "tasks.json"
LOCAL_FILES_PREFIX = "/data/local-files/?d="
_UPLOAD_PREFIX = "/data/upload/"
# Label Studio stores an upload as "<8 hex digits>-<original name>".
_UPLOAD_HASH = re.compile(r"^[0-9a-f]{8}-")
_RECT = "rectanglelabels"
# Box flags kept in a region's meta object (module docstring).
_FLAGS = ("difficult", "truncated")


def read_labelstudio(
    src: Path,
    *,
    image_root: Path | None = None,
    class_names: tuple[str, ...] | None = None,
    use_predictions: bool = False,
    validation: ValidationLog | None = None,
) -> AnnotationSet:
    """Read a Label Studio JSON export (a file, or a folder with ``tasks.json`` or one ``*.json``).

    Class names: ``class_names`` if given, else ``classes.txt`` beside the JSON, else the
    detector's classes; a label outside them is an unknown-class error.
    """
    json_path = find_json(Path(src), TASKS_FILE)
    tasks = load_json(json_path)
    names = class_names or read_classes_file(json_path.parent / CLASSES_FILE) or CLASS_NAMES
    return parse_tasks(
        tasks,
        source=json_path,
        image_root=Path(image_root) if image_root else json_path.parent,
        class_names=names,
        use_predictions=use_predictions,
        validation=validation,
    )


def parse_tasks(
    tasks: object,
    *,
    source: Path,
    image_root: Path,
    class_names: tuple[str, ...] = CLASS_NAMES,
    use_predictions: bool = False,
    validation: ValidationLog | None = None,
) -> AnnotationSet:
    """Tasks as exported (or as fetched from Label Studio's API) into an ``AnnotationSet``.

    ``source`` names the tasks' origin in error messages.
    """
    validation = validation or ValidationLog()
    if not isinstance(tasks, list):
        raise DatasetFormatError(source, "expected a JSON list of tasks (Label Studio's JSON export)")
    images: list[ImageAnnotation] = []
    unlabelled = 0
    for i, task in enumerate(tasks):
        what = f"task {task.get('id', f'#{i}') if isinstance(task, dict) else f'#{i}'}"
        try:
            image = _read_task(task, what, source, image_root, class_names, use_predictions)
        except DatasetFormatError as exc:
            validation.reject_error(exc)
            continue
        if image is None:
            unlabelled += 1
        else:
            images.append(image)
    if unlabelled:
        log.info("%s: %d of %d tasks have no annotation yet and are left out", source, unlabelled, len(tasks))
    return AnnotationSet(images=images, class_names=class_names)


def write_labelstudio(
    ds: AnnotationSet,
    out_dir: Path,
    *,
    copy_images: bool = True,
    as_predictions: bool = False,
    model_version: str = "maskops",
) -> Path:
    """Write ``out_dir/tasks.json`` (+ ``images/``, ``classes.txt``) for import; returns the JSON path.

    With ``as_predictions`` the boxes go under ``predictions`` (pre-annotations a
    reviewer corrects) tagged with ``model_version``, else under ``annotations``.
    """
    out_dir = Path(out_dir)
    names = output_names([ImageAnnotation(im.image, im.width, im.height, im.boxes) for im in ds.images])
    tasks = []
    for image, name in zip(ds.images, names, strict=True):
        place_image(image.image, out_dir / "images" / name, copy=copy_images)
        data: dict[str, object] = {"image": LOCAL_FILES_PREFIX + quote(f"images/{name}")}
        if image.split:
            data["split"] = image.split
        result = task_result(image, ds.class_names, region_prefix=Path(name).stem)
        key = "predictions" if as_predictions else "annotations"
        entry: dict[str, object] = {"result": result}
        if as_predictions:
            entry["model_version"] = model_version
        tasks.append({"data": data, key: [entry]})
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / TASKS_FILE
    json_path.write_text(json.dumps(tasks, indent=1))
    write_classes_file(out_dir / CLASSES_FILE, ds.class_names)
    return json_path


def task_result(
    image: ImageAnnotation,
    class_names: tuple[str, ...],
    *,
    region_prefix: str = "r",
    from_name: str = "label",
    to_name: str = "image",
) -> list[dict[str, object]]:
    """The ``result`` list of one image's boxes, as Label Studio's RectangleLabels regions."""
    regions: list[dict[str, object]] = []
    for i, box in enumerate(image.boxes, start=1):
        box = checked_box(box, image.width, image.height, class_names, path=image.image, what=f"box {i}")
        region: dict[str, object] = {
            "id": f"{region_prefix}_{i}",
            "type": _RECT,
            "from_name": from_name,
            "to_name": to_name,
            "original_width": image.width,
            "original_height": image.height,
            "image_rotation": 0,
            "value": {
                "x": box.x1 / image.width * 100,
                "y": box.y1 / image.height * 100,
                "width": (box.x2 - box.x1) / image.width * 100,
                "height": (box.y2 - box.y1) / image.height * 100,
                "rotation": 0,
                _RECT: [box.class_name],
            },
        }
        flags = {flag: True for flag in _FLAGS if getattr(box, flag)}
        if flags:
            region["meta"] = flags
        regions.append(region)
    return regions


def resolve_image_ref(ref: str, image_root: Path) -> list[Path]:
    """Where the image a task refers to may lie on this machine, most likely first."""
    if ref.startswith("/data/local-files/"):
        values = parse_qs(urlparse(ref).query).get("d")
        relative = values[0] if values else ""
        return [image_root / relative, Path(relative)]
    if ref.startswith(_UPLOAD_PREFIX):
        relative = unquote(ref[len(_UPLOAD_PREFIX):])
        name = PurePosixPath(relative).name
        return [image_root / relative, image_root / name, image_root / _UPLOAD_HASH.sub("", name)]
    parsed = urlparse(ref)
    if parsed.scheme and len(parsed.scheme) > 1:  # http(s)://, s3://, gs:// (not a Windows drive letter)
        name = PurePosixPath(unquote(parsed.path)).name
        return [image_root / name]
    path = Path(unquote(ref)) if "%" in ref else Path(ref)
    return [path] if path.is_absolute() else [image_root / path, path]


def _read_task(
    task: object,
    what: str,
    source: Path,
    image_root: Path,
    class_names: tuple[str, ...],
    use_predictions: bool,
) -> ImageAnnotation | None:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise DatasetFormatError(source, f"{what} has no 'data' object")
    ref = task["data"].get("image")
    if not isinstance(ref, str) or not ref:
        raise DatasetFormatError(source, f"{what} has no data.image")
    chosen = _chosen_annotation(task, use_predictions)
    if chosen is None:
        return None
    candidates = resolve_image_ref(ref, image_root)
    image_path = next((p for p in candidates if p.is_file()), None)
    if image_path is None:
        raise DatasetFormatError(
            source,
            f"{what}: image {ref} is missing (looked for {candidates[0]}); "
            "pass the folder that holds the images as image root",
        )
    result = chosen.get("result") or []
    if not isinstance(result, list):
        raise DatasetFormatError(source, f"{what}: 'result' is not a list")
    regions = [r for r in result if isinstance(r, dict) and _is_region(r, what, source)]
    if regions:
        width, height = _original_size(regions, what, source)
    else:
        width, height = image_size(image_path)
    boxes = []
    for n, region in enumerate(regions, start=1):
        region_what = f"{what} region {region.get('id', f'#{n}')}"
        box = _region_box(region, width, height, region_what, source)
        boxes.append(checked_box(box, width, height, class_names, path=source, what=region_what))
    split = task["data"].get("split")
    return ImageAnnotation(image_path, width, height, tuple(boxes), split if isinstance(split, str) else None)


def _chosen_annotation(task: dict, use_predictions: bool) -> dict | None:
    annotations = [
        a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if not annotations and use_predictions:
        annotations = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    if not annotations:
        return None
    # Stable sort: without timestamps the last listed wins.
    return sorted(annotations, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))[-1]


def _is_region(region: dict, what: str, source: Path) -> bool:
    kind = str(region.get("type", ""))
    if kind == _RECT:
        return True
    if kind.endswith("labels"):
        raise DatasetFormatError(
            source, f"{what} has a {kind} region; only rectanglelabels boxes can be used for detection"
        )
    # Per-image choices or text areas carry no boxes.
    return False


def _original_size(regions: list[dict], what: str, source: Path) -> tuple[int, int]:
    sizes = {(r.get("original_width"), r.get("original_height")) for r in regions}
    if len(sizes) != 1:
        problem = f"{what}: regions disagree on original_width/height {sorted(sizes, key=str)}"
        raise DatasetFormatError(source, problem)
    width, height = sizes.pop()
    return checked_image_size(width, height, path=source, what=f"{what} image")


def _region_box(region: dict, width: int, height: int, what: str, source: Path) -> BoxAnnotation:
    value = region.get("value")
    if not isinstance(value, dict):
        raise DatasetFormatError(source, f"{what} has no 'value'")
    try:
        x, y, w, h = (float(value[k]) for k in ("x", "y", "width", "height"))
    except (KeyError, TypeError, ValueError):
        raise DatasetFormatError(source, f"{what} needs numeric value.x/y/width/height (percent)") from None
    if float(value.get("rotation") or 0) % 360 != 0:
        problem = f"{what} is rotated {value['rotation']} degrees; un-rotate it in Label Studio"
        raise DatasetFormatError(source, problem)
    labels = value.get(_RECT)
    if not isinstance(labels, list) or len(labels) != 1:
        raise DatasetFormatError(source, f"{what} has labels {labels!r}; expected exactly one class")
    meta = region.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    difficult, truncated = (
        checked_flag(meta.get(flag), path=source, what=f"{what} meta.{flag}") for flag in _FLAGS
    )
    return BoxAnnotation(
        x / 100 * width,
        y / 100 * height,
        (x + w) / 100 * width,
        (y + h) / 100 * height,
        str(labels[0]),
        difficult=difficult,
        truncated=truncated,
    )
