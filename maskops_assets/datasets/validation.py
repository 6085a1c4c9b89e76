"""Checking boxes, and deciding what happens to bad input: stop, or skip it and keep a record.

Every reader sends each problem it finds to a ``ValidationLog``. A strict log (the
default) raises ``DatasetFormatError`` at once; a log with ``skip_invalid=True`` records
a ``SkippedItem`` and lets the reader go on with the next image.

Input that is usable but not what it claims (a VOC ``<size>`` that disagrees with the
image file) is neither: the reader repairs it and records a ``ValidationWarning`` with
``warn``, in strict and skipping logs alike, so the user sees what was changed (the
conversion report lists every warning).

Readers skip a whole image, never just one of its boxes: an image with a face left
unlabelled would teach the detector that the face is background.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from maskops_assets.datasets.annotations import BoxAnnotation, DatasetFormatError

log = logging.getLogger(__name__)

# Boxes converted from normalized or percent coordinates land a hair outside the image
# through rounding; up to one pixel is clipped, anything more is a real labelling error.
CLIP_TOLERANCE_PX = 1.0

# How a yes/no flag may be written in VOC text (JSON formats also give booleans and numbers).
_FLAG_TEXT = {"": False, "0": False, "1": True, "false": False, "true": True}

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


@dataclass(frozen=True)
class ValidationWarning:
    """Input that was used after a repair: the file, the line (when known) and what was done."""

    path: Path
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "line": self.line, "message": self.message}


@dataclass
class ValidationLog:
    """Where readers report bad input. Strict unless ``skip_invalid``; warnings are always recorded."""

    skip_invalid: bool = False
    skipped: list[SkippedItem] = field(default_factory=list)
    warnings: list[ValidationWarning] = field(default_factory=list)

    def warn(self, path: Path | str, message: str, *, line: int | None = None) -> None:
        """Record that the item at ``path`` was used after a repair that ``message`` describes."""
        item = ValidationWarning(Path(path), message, line)
        self.warnings.append(item)
        if len(self.warnings) <= _LOGGED_SKIPS:
            log.warning("%s", item)
        elif len(self.warnings) == _LOGGED_SKIPS + 1:
            log.warning("more warnings; the conversion report lists all of them")

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
    # replace(), not a new box: clipping must keep the difficult/truncated flags.
    return dataclasses.replace(box, x1=x1, y1=y1, x2=x2, y2=y2)


def checked_flag(value: object, *, path: Path, what: str, line: int | None = None) -> bool:
    """A yes/no flag (``difficult``, ``truncated``) as VOC text or JSON writes it, as a bool.

    Accepted: absent or empty (no), JSON booleans, 0 and 1 as numbers or text, and
    ``true``/``false`` text. Anything else is an error naming ``what``: guessing would
    decide silently whether a box is trained on.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAG_TEXT:
        return _FLAG_TEXT[value.strip().lower()]
    raise DatasetFormatError(path, f"{what} is {value!r}; expected 0 or 1", line=line)



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
