"""Read an annotation import in any format ``maskops_assets.datasets`` knows, collecting problems.

A thin adapter: each dataset reader takes its own kind of path (YOLO a data.yaml, the others a
folder or a JSON file); an import names a folder, so the YOLO data.yaml is looked up inside it.
"""

from __future__ import annotations

from pathlib import Path

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.validation import ValidationLog

SUPPORTED_FORMATS = ("yolo", "voc", "coco", "labelstudio")


def read_annotations(source: Path, fmt: str, validation: ValidationLog) -> AnnotationSet:
    """The annotations at ``source`` (a folder, or the format's file) in format ``fmt``."""
    if fmt not in SUPPORTED_FORMATS:
        raise DatasetFormatError(source, f"unknown format {fmt!r}; use one of {', '.join(SUPPORTED_FORMATS)}")
    if not source.exists():
        raise DatasetFormatError(source, "does not exist; point import_dir at the exported annotations")
    if fmt == "yolo":
        from maskops_assets.datasets.yolo import read_yolo

        data_yaml = source / "data.yaml" if source.is_dir() else source
        if not data_yaml.is_file():
            raise DatasetFormatError(data_yaml, "missing: a YOLO import needs the folder's data.yaml")
        return read_yolo(data_yaml, validation=validation)
    if fmt == "voc":
        from maskops_assets.datasets.voc import read_voc

        return read_voc(source, validation=validation)
    if fmt == "coco":
        from maskops_assets.datasets.coco import read_coco

        return read_coco(source, validation=validation)
    from maskops_assets.datasets.labelstudio import read_labelstudio

    return read_labelstudio(source, validation=validation)
