"""The in-memory form every dataset format is read into and written from.

Boxes are pixel xyxy in the image's own coordinates. Readers validate into these
classes; writers take them. Converting A -> B is read_A then write_B, so no format
needs to know about another.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from maskops_contracts.classes import CLASS_NAMES


class DatasetFormatError(ValueError):
    """A dataset file is unusable. ``path`` is the file, ``problem`` says what is wrong.

    ``line`` is the 1-based line in a text file (a YOLO label line), when known; it is
    shown as ``path:line: problem``, the form editors and terminals can jump to.
    """

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class BoxAnnotation:
    """One labelled box: pixel corners (x1, y1) top-left, (x2, y2) bottom-right.

    ``difficult`` and ``truncated`` are Pascal VOC's object flags, carried through every
    format that can hold them so a conversion never turns a difficult box into an
    ordinary one. ``difficult`` marks an object the annotator could not label with
    confidence (VOC evaluation ignores it); YOLO cannot mark it, so YOLO output leaves
    such boxes out by default (see ``without_difficult``). ``truncated`` marks an object
    that runs past the image edge; it is kept everywhere, only recorded.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    class_name: str
    difficult: bool = False
    truncated: bool = False

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)


@dataclass(frozen=True)
class ImageAnnotation:
    """An image file and its boxes. ``split`` is train/val/test where the source says so."""

    image: Path
    width: int
    height: int
    boxes: tuple[BoxAnnotation, ...] = ()
    split: str | None = None


@dataclass
class AnnotationSet:
    """A whole dataset: its class names (in id order) and its images."""

    images: list[ImageAnnotation] = field(default_factory=list)
    class_names: tuple[str, ...] = CLASS_NAMES


def without_difficult(ds: AnnotationSet) -> tuple[AnnotationSet, int]:
    """A copy of ``ds`` without its difficult boxes, and how many were left out.

    The images stay (one whose boxes were all difficult becomes a background image), the
    way ultralytics' own VOC converter writes YOLO labels: a format with no "ignore this
    box" marker can either train on a box nobody could label with confidence or leave
    it out, and leaving it out is the smaller harm.
    """
    images: list[ImageAnnotation] = []
    left_out = 0
    for image in ds.images:
        kept = tuple(box for box in image.boxes if not box.difficult)
        left_out += len(image.boxes) - len(kept)
        images.append(image if len(kept) == len(image.boxes) else dataclasses.replace(image, boxes=kept))
    return AnnotationSet(images=images, class_names=ds.class_names), left_out
