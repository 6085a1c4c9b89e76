"""Converting a dataset between any two formats, with a report of what went in, came out and was left out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from maskops_assets.datasets.annotations import DatasetFormatError
from maskops_assets.datasets.formats import ReadOptions, get_format
from maskops_assets.datasets.stats import DatasetStats
from maskops_assets.datasets.validation import SkippedItem, ValidationLog

log = logging.getLogger(__name__)


@dataclass
class ConversionReport:
    """What a conversion did. ``stats`` counts the dataset as written; ``skipped`` lists what was left out."""

    source: Path
    source_format: str
    destination: Path
    destination_format: str
    output: Path
    stats: DatasetStats
    skipped: list[SkippedItem] = field(default_factory=list)

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
            "output": str(self.output),
            **self.stats.to_dict(),
            "skipped_count": self.skipped_count,
            "skipped": [item.to_dict() for item in self.skipped],
        }

    def summary(self) -> str:
        classes = ", ".join(f"{name}={count}" for name, count in self.boxes_per_class.items())
        return (
            f"converted {self.source} ({self.source_format}) -> {self.output} ({self.destination_format}): "
            f"{self.images} images, {self.stats.boxes} boxes ({classes}), {self.skipped_count} skipped"
        )


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
) -> ConversionReport:
    """Read ``src`` as ``src_format`` and write it to the new folder ``dst`` as ``dst_format``.

    Raises ``DatasetFormatError`` on the first bad item unless ``skip_invalid``; then
    bad images are left out and listed in the report. ``dst`` must be empty or not
    exist yet, so old files never mix into the new dataset.
    """
    reader, writer = get_format(src_format), get_format(dst_format)
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise DatasetFormatError(dst, "destination is not an empty folder; choose a new one")
    validation = ValidationLog(skip_invalid=skip_invalid)
    options = ReadOptions(validation, image_root, class_names, use_predictions)
    log.info("reading %s as %s", src, src_format)
    ds = reader.read(Path(src), options)
    log.info(
        "read %d images (%d skipped); writing %s to %s",
        len(ds.images),
        len(validation.skipped),
        dst_format,
        dst,
    )
    output = writer.write(ds, dst, copy_images=copy_images)
    return ConversionReport(
        source=Path(src),
        source_format=src_format,
        destination=dst,
        destination_format=dst_format,
        output=output,
        stats=DatasetStats.of(ds),
        skipped=list(validation.skipped),
    )
