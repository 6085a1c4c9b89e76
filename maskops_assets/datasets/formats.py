"""The dataset formats maskops reads and writes, by name: ``FORMATS["voc"].read(...)``.

Every format reads into an ``AnnotationSet`` and writes from one, so converting is
``read`` of one entry then ``write`` of another. Options that only some formats take
(an image root, class names, Label Studio predictions) are refused by the others
rather than ignored, so a typo in a command line does not pass silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.coco import read_coco, write_coco
from maskops_assets.datasets.labelstudio import read_labelstudio, write_labelstudio
from maskops_assets.datasets.validation import ValidationLog
from maskops_assets.datasets.voc import read_voc, write_voc
from maskops_assets.datasets.yolo import read_yolo, write_yolo


@dataclass(frozen=True)
class ReadOptions:
    """How to read a dataset; ``validation`` decides whether bad items stop the read or are skipped."""

    validation: ValidationLog = field(default_factory=ValidationLog)
    image_root: Path | None = None
    class_names: tuple[str, ...] | None = None
    use_predictions: bool = False


@dataclass(frozen=True)
class DatasetFormat:
    """One format: how to read a source path and write a dataset into an output folder."""

    name: str
    summary: str
    reader: Callable[[Path, ReadOptions], AnnotationSet]
    # (dataset, output folder, copy_images) -> the main file written (data.yaml, annotations.json, ...)
    writer: Callable[[AnnotationSet, Path, bool], Path]
    options: frozenset[str] = frozenset()

    def read(self, src: Path, options: ReadOptions | None = None) -> AnnotationSet:
        options = options or ReadOptions()
        given = {
            "image_root": options.image_root is not None,
            "class_names": options.class_names is not None,
            "use_predictions": options.use_predictions,
        }
        refused = sorted(name for name, is_set in given.items() if is_set and name not in self.options)
        if refused:
            raise ValueError(f"option {', '.join(refused)} does not apply to the {self.name} format")
        return self.reader(Path(src), options)

    def write(self, ds: AnnotationSet, out_dir: Path, *, copy_images: bool = True) -> Path:
        return self.writer(ds, Path(out_dir), copy_images)


def _read_yolo(src: Path, options: ReadOptions) -> AnnotationSet:
    if src.is_dir():
        yamls = [src / "data.yaml"] if (src / "data.yaml").is_file() else sorted(src.glob("*.yaml"))
        if len(yamls) != 1:
            raise DatasetFormatError(src, "expected data.yaml (or exactly one .yaml file) in this folder")
        src = yamls[0]
    return read_yolo(src, validation=options.validation)


FORMATS: dict[str, DatasetFormat] = {
    "yolo": DatasetFormat(
        "yolo",
        "ultralytics YOLO: data.yaml, images/<split>/, labels/<split>/*.txt",
        _read_yolo,
        lambda ds, out, copy: write_yolo(ds, out, copy_images=copy),
    ),
    "voc": DatasetFormat(
        "voc",
        "Pascal VOC XML: images/ beside annotations/ (Kaggle face-mask layout) or JPEGImages/ + Annotations/",
        lambda src, o: read_voc(src, class_names=o.class_names, validation=o.validation),
        lambda ds, out, copy: write_voc(ds, out, copy_images=copy),
        frozenset({"class_names"}),
    ),
    "coco": DatasetFormat(
        "coco",
        "COCO detection JSON: annotations.json beside images/",
        lambda src, o: read_coco(src, image_root=o.image_root, validation=o.validation),
        lambda ds, out, copy: write_coco(ds, out, copy_images=copy),
        frozenset({"image_root"}),
    ),
    "labelstudio": DatasetFormat(
        "labelstudio",
        "Label Studio JSON export: a list of tasks with rectanglelabels regions",
        lambda src, o: read_labelstudio(
            src,
            image_root=o.image_root,
            class_names=o.class_names,
            use_predictions=o.use_predictions,
            validation=o.validation,
        ),
        lambda ds, out, copy: write_labelstudio(ds, out, copy_images=copy),
        frozenset({"image_root", "class_names", "use_predictions"}),
    ),
}


def get_format(name: str) -> DatasetFormat:
    """The registered format ``name``, or a ValueError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown dataset format {name!r}; known: {', '.join(FORMATS)}") from None
