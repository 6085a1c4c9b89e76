"""The dataset formats maskops reads and writes, by name: ``FORMATS["voc"].read(...)``.

Every format reads into an ``AnnotationSet`` and writes from one, so converting is
``read`` of one entry then ``write`` of another. Options that only some formats take
(an image root, class names, Label Studio predictions) are refused by the others
rather than ignored, so a typo in a command line does not pass silently.

``marks_difficult`` says whether a format can hold the difficult flag of a box. Those
that can (VOC, COCO, Label Studio) keep it; YOLO cannot, and its writer leaves
difficult boxes out unless ``WriteOptions.keep_difficult``.
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
class WriteOptions:
    """How to write a dataset; ``validation`` collects the warnings a writer has (a stand-in split)."""

    copy_images: bool = True
    keep_difficult: bool = False
    validation: ValidationLog = field(default_factory=ValidationLog)


@dataclass(frozen=True)
class DatasetFormat:
    """One format: how to read a source path and write a dataset into an output folder."""

    name: str
    summary: str
    reader: Callable[[Path, ReadOptions], AnnotationSet]
    # (dataset, output folder, options) -> the main file written (data.yaml, annotations.json, ...)
    writer: Callable[[AnnotationSet, Path, WriteOptions], Path]
    options: frozenset[str] = frozenset()
    marks_difficult: bool = True

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

    def write(
        self,
        ds: AnnotationSet,
        out_dir: Path,
        *,
        copy_images: bool = True,
        keep_difficult: bool = False,
        validation: ValidationLog | None = None,
    ) -> Path:
        """Write ``ds`` into ``out_dir``; warnings go to ``validation``. Returns the main file written."""
        options = WriteOptions(copy_images, keep_difficult, validation or ValidationLog())
        return self.writer(ds, Path(out_dir), options)


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
        lambda ds, out, o: write_yolo(
            ds,
            out,
            copy_images=o.copy_images,
            keep_difficult=o.keep_difficult,
            fill_required_splits=True,
            validation=o.validation,
        ),
        marks_difficult=False,
    ),
    "voc": DatasetFormat(
        "voc",
        "Pascal VOC XML: images/ beside annotations/ (Kaggle face-mask layout) or JPEGImages/ + Annotations/",
        lambda src, o: read_voc(src, class_names=o.class_names, validation=o.validation),
        lambda ds, out, o: write_voc(ds, out, copy_images=o.copy_images),
        frozenset({"class_names"}),
    ),
    "coco": DatasetFormat(
        "coco",
        "COCO detection JSON: annotations.json beside images/",
        lambda src, o: read_coco(src, image_root=o.image_root, validation=o.validation),
        lambda ds, out, o: write_coco(ds, out, copy_images=o.copy_images),
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
        lambda ds, out, o: write_labelstudio(ds, out, copy_images=o.copy_images),
        frozenset({"image_root", "class_names", "use_predictions"}),
    ),
}


def get_format(name: str) -> DatasetFormat:
    """The registered format ``name``, or a ValueError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown dataset format {name!r}; known: {', '.join(FORMATS)}") from None
