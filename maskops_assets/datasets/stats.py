"""Counts of a dataset: images per split, boxes per class, and boxes per class within each split."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from maskops_assets.datasets.annotations import AnnotationSet

UNSPLIT = "unsplit"


@dataclass(frozen=True)
class DatasetStats:
    """``counts[split][class]`` is a box count; images without a split count under ``unsplit``.

    ``difficult_boxes`` counts the boxes (included in ``boxes``) flagged difficult.
    """

    images: int
    boxes: int
    images_per_split: dict[str, int]
    boxes_per_class: dict[str, int]
    counts: dict[str, dict[str, int]]
    background_images: int
    difficult_boxes: int = 0

    @classmethod
    def of(cls, ds: AnnotationSet) -> DatasetStats:
        images_per_split: Counter[str] = Counter()
        boxes_per_class: Counter[str] = Counter({name: 0 for name in ds.class_names})
        counts: dict[str, Counter[str]] = {}
        for image in ds.images:
            split = image.split or UNSPLIT
            images_per_split[split] += 1
            per_split = counts.setdefault(split, Counter({name: 0 for name in ds.class_names}))
            for box in image.boxes:
                boxes_per_class[box.class_name] += 1
                per_split[box.class_name] += 1
        return cls(
            images=len(ds.images),
            boxes=sum(boxes_per_class.values()),
            images_per_split=dict(sorted(images_per_split.items())),
            boxes_per_class=dict(boxes_per_class),
            counts={split: dict(c) for split, c in sorted(counts.items())},
            background_images=sum(1 for image in ds.images if not image.boxes),
            difficult_boxes=sum(1 for image in ds.images for box in image.boxes if box.difficult),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "boxes": self.boxes,
            "background_images": self.background_images,
            "difficult_boxes": self.difficult_boxes,
            "images_per_split": self.images_per_split,
            "boxes_per_class": self.boxes_per_class,
            "counts": self.counts,
        }

    def table(self) -> str:
        """A plain-text table: one row per split, one column per class."""
        classes = list(self.boxes_per_class)
        header = ["split", "images", *classes]
        rows = [
            [split, str(self.images_per_split[split]), *(str(self.counts[split].get(c, 0)) for c in classes)]
            for split in self.counts
        ]
        rows.append(["total", str(self.images), *(str(self.boxes_per_class[c]) for c in classes)])
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = ("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in [header, *rows])
        return "\n".join(line.rstrip() for line in lines)
