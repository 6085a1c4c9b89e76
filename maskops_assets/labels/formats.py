"""Read an annotation import in any format of ``maskops_assets.datasets`` (its ``FORMATS`` registry).

The import always reads with a skipping ``ValidationLog`` so that every problem is collected
before ``reviewed_labels`` decides to reject the batch or keep its valid part.
"""

from __future__ import annotations

from pathlib import Path

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.formats import FORMATS, ReadOptions
from maskops_assets.datasets.validation import ValidationLog


def read_annotations(source: Path, fmt: str, validation: ValidationLog) -> AnnotationSet:
    """The annotations at ``source`` (a folder, or the format's file) in format ``fmt``."""
    if fmt not in FORMATS:
        raise DatasetFormatError(source, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not source.exists():
        raise DatasetFormatError(source, "does not exist; point import_dir at the exported annotations")
    return FORMATS[fmt].read(source, ReadOptions(validation=validation))
