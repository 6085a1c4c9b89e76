"""Checking boxes, and deciding what happens to bad input: stop, or skip it and keep a record.

Every reader sends each problem it finds to a ``ValidationLog``. A strict log (the
default) raises ``DatasetFormatError`` at once; a log with ``skip_invalid=True`` records
a ``SkippedItem`` and lets the reader go on with the next image.

Readers skip a whole image, never just one of its boxes: an image with a face left
unlabelled would teach the detector that the face is background.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from maskops_assets.datasets.annotations import BoxAnnotation, DatasetFormatError

log = logging.getLogger(__name__)

# Boxes converted from normalized or percent coordinates land a hair outside the image
# through rounding; up to one pixel is clipped, anything more is a real labelling error.
CLIP_TOLERANCE_PX = 1.0

# Enough skip messages in the log to see the pattern; the full list is in the report.
_LOGGED_SKIPS = 10


@dataclass(frozen=True)
class SkippedItem:
    """One piece of input left out: the file, the line (when known) and why."""

    path: Path
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "line": self.line, "reason": self.reason}


@dataclass
class ValidationLog:
    """Where readers report bad input. Strict unless ``skip_invalid``."""

    skip_invalid: bool = False
    skipped: list[SkippedItem] = field(default_factory=list)

    def reject(self, path: Path | str, problem: str, *, line: int | None = None) -> None:
        """Raise ``DatasetFormatError`` (strict) or record the item as skipped."""
        if not self.skip_invalid:
            raise DatasetFormatError(path, problem, line=line)
        item = SkippedItem(Path(path), problem, line)
        self.skipped.append(item)
        if len(self.skipped) <= _LOGGED_SKIPS:
            log.warning("skipped %s", item)
        elif len(self.skipped) == _LOGGED_SKIPS + 1:
            log.warning("more items skipped; the conversion report lists all of them")

    def reject_error(self, error: DatasetFormatError) -> None:
        """Like ``reject`` for an error raised further down (a box check, an image read)."""
        self.reject(error.path, error.problem, line=error.line)


def checked_box(
    box: BoxAnnotation,
    width: int,
    height: int,
    class_names: tuple[str, ...],
    *,
    path: Path,
    line: int | None = None,
    what: str = "box",
) -> BoxAnnotation:
    """``box`` clipped to the image, or ``DatasetFormatError`` saying what is wrong with it.

    ``what`` names the box in the message ("box 3", "object 'without_mask' #2") so the
    user can find it in the file.
    """
    coords = (box.x1, box.y1, box.x2, box.y2)
    if not all(math.isfinite(v) for v in coords):
        raise DatasetFormatError(path, f"{what} has a non-numeric coordinate {coords}", line=line)
    if box.class_name not in class_names:
        raise DatasetFormatError(
            path,
            f"{what} has unknown class {box.class_name!r}; known classes: {', '.join(class_names)} "
            "(fix the label, or add the class to the dataset's class list)",
            line=line,
        )
    tol = CLIP_TOLERANCE_PX + 1e-6
    if box.x1 < -tol or box.y1 < -tol or box.x2 > width + tol or box.y2 > height + tol:
        raise DatasetFormatError(
            path,
            f"{what} {_fmt(coords)} lies outside the {width}x{height} image "
            f"by more than {CLIP_TOLERANCE_PX:g} px",
            line=line,
        )
    x1, x2 = min(max(box.x1, 0.0), width), min(max(box.x2, 0.0), width)
    y1, y2 = min(max(box.y1, 0.0), height), min(max(box.y2, 0.0), height)
    if x2 <= x1 or y2 <= y1:
        raise DatasetFormatError(
            path, f"{what} {_fmt(coords)} has zero area (needs x1 < x2 and y1 < y2)", line=line
        )
    if (x1, y1, x2, y2) == coords:
        return box
    return BoxAnnotation(x1, y1, x2, y2, box.class_name)


def checked_image_size(
    width: object, height: object, *, path: Path, line: int | None = None, what: str = "image"
) -> tuple[int, int]:
    """Positive integer width and height, or ``DatasetFormatError`` naming ``what`` has that size."""
    try:
        w, h = int(width), int(height)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        problem = f"{what} size {width!r}x{height!r} is not a number"
        raise DatasetFormatError(path, problem, line=line) from None
    if w <= 0 or h <= 0:
        raise DatasetFormatError(path, f"{what} size {w}x{h} must be positive", line=line)
    return w, h


def _fmt(coords: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in coords) + ")"
