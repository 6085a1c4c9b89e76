"""Converting a dataset between any two formats, with a report of what went in, came out and was left out.

A conversion that finds nothing valid to write (every item skipped as invalid, or a
source without images) is an error, ``NothingToConvert``, and writes nothing: an
empty dataset with a data.yaml that lists no split only fails later, far from the cause.
The error carries the report, so the caller can still show or save the list of skipped
items that explains it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError, without_difficult
from maskops_assets.datasets.formats import ReadOptions, get_format
from maskops_assets.datasets.split import assign_splits
from maskops_assets.datasets.stats import DatasetStats
from maskops_assets.datasets.validation import SkippedItem, ValidationLog, ValidationWarning

log = logging.getLogger(__name__)


@dataclass
class ConversionReport:
    """What a conversion did. ``stats`` counts the dataset as written; ``skipped`` lists what was left out.

    ``warnings`` lists input used after a repair (a VOC ``<size>`` that disagreed with
    its image) and notes on the output (a stand-in val split). ``difficult_left_out``
    counts difficult boxes the output format could not mark and so left out. ``output``
    is None when nothing was written.
    """

    source: Path
    source_format: str
    destination: Path
    destination_format: str
    output: Path | None
    stats: DatasetStats
    skipped: list[SkippedItem] = field(default_factory=list)
    warnings: list[ValidationWarning] = field(default_factory=list)
    difficult_left_out: int = 0
    split_ratios: tuple[float, float, float] | None = None

    @property
    def images(self) -> int:
        return self.stats.images

    @property
    def boxes_per_class(self) -> dict[str, int]:
        return self.stats.boxes_per_class

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)

    def to_dict(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "source_format": self.source_format,
            "destination": str(self.destination),
            "destination_format": self.destination_format,
            "output": str(self.output) if self.output is not None else None,
            "split_ratios": list(self.split_ratios) if self.split_ratios is not None else None,
            **self.stats.to_dict(),
            "difficult_left_out": self.difficult_left_out,
            "skipped_count": self.skipped_count,
            "skipped": [item.to_dict() for item in self.skipped],
            "warning_count": len(self.warnings),
            "warnings": [item.to_dict() for item in self.warnings],
        }

    def summary(self) -> str:
        classes = ", ".join(f"{name}={count}" for name, count in self.boxes_per_class.items())
        extras = [f"{self.skipped_count} skipped"]
        if self.difficult_left_out:
            extras.append(f"{self.difficult_left_out} difficult boxes left out")
        if self.warnings:
            extras.append(f"{len(self.warnings)} warnings")
        return (
            f"converted {self.source} ({self.source_format}) -> {self.output} ({self.destination_format}): "
            f"{self.images} images, {self.stats.boxes} boxes ({classes}), {', '.join(extras)}"
        )


class NothingToConvert(DatasetFormatError):
    """The source held no valid image, so nothing was written; ``report`` says what was skipped."""

    def __init__(self, report: ConversionReport) -> None:
        self.report = report
        if report.skipped:
            problem = (
                f"nothing valid found: all {report.skipped_count} item(s) were invalid and skipped, "
                "so nothing was written; the skipped items and why are in the conversion report"
            )
        else:
            problem = "no images found, so nothing was written"
        super().__init__(report.source, problem)


def convert(
    src: Path,
    src_format: str,
    dst: Path,
    dst_format: str,
    *,
    skip_invalid: bool = False,
    copy_images: bool = True,
    image_root: Path | None = None,
    class_names: tuple[str, ...] | None = None,
    use_predictions: bool = False,
    split: tuple[float, float, float] | None = None,
    keep_difficult: bool = False,
) -> ConversionReport:
    """Read ``src`` as ``src_format`` and write it to the new folder ``dst`` as ``dst_format``.

    Raises ``DatasetFormatError`` on the first bad item unless ``skip_invalid``; then
    bad images are left out and listed in the report. ``NothingToConvert`` (nothing is
    written) when no valid image is left. ``dst`` must be empty or not exist yet, so old
    files never mix into the new dataset.

    ``split`` (train, val, test ratios) re-splits every image by its content hash
    (``split.assign_splits``), replacing the splits the source had; without it images
    keep the source's splits. ``keep_difficult`` writes difficult boxes as ordinary
    boxes into a format that cannot mark them (YOLO) instead of leaving them out.
    """
    reader, writer = get_format(src_format), get_format(dst_format)
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise DatasetFormatError(dst, "destination is not an empty folder; choose a new one")
    validation = ValidationLog(skip_invalid=skip_invalid)
    options = ReadOptions(validation, image_root, class_names, use_predictions)
    log.info("reading %s as %s", src, src_format)
    ds = reader.read(Path(src), options)
    if not ds.images:
        raise NothingToConvert(_report(src, src_format, dst, dst_format, None, ds, validation))
    if split is not None:
        already = sum(1 for image in ds.images if image.split)
        if already:
            log.info("%d image(s) had a split in the source; the content-hash split replaces it", already)
        ds = assign_splits(ds, split)
    left_out = 0
    if not (keep_difficult or writer.marks_difficult):
        ds, left_out = without_difficult(ds)
    log.info(
        "read %d images (%d skipped); writing %s to %s",
        len(ds.images),
        len(validation.skipped),
        dst_format,
        dst,
    )
    output = writer.write(
        ds, dst, copy_images=copy_images, keep_difficult=keep_difficult, validation=validation
    )
    report = _report(src, src_format, dst, dst_format, output, ds, validation)
    report.difficult_left_out = left_out
    report.split_ratios = split
    return report


def _report(
    src: Path,
    src_format: str,
    dst: Path,
    dst_format: str,
    output: Path | None,
    ds: AnnotationSet,
    validation: ValidationLog,
) -> ConversionReport:
    return ConversionReport(
        source=Path(src),
        source_format=src_format,
        destination=dst,
        destination_format=dst_format,
        output=output,
        stats=DatasetStats.of(ds),
        skipped=list(validation.skipped),
        warnings=list(validation.warnings),
    )
