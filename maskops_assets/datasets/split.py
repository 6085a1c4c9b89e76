"""Deterministic train/val/test split by image content, stable when images are added.

An image's split depends on nothing but the SHA-256 of its bytes: the first 16 hex
digits, read as a number in [0, 1), fall into one of the ratio intervals. Adding or
removing other images never moves it, so the test split stays frozen as the dataset
grows, and duplicate images (same bytes) always share a split, so none leaks from
train into test. A maskops sample id (the first 24 hex digits of the same hash) works
as the hash too.
"""

from __future__ import annotations

import math
import string
from pathlib import Path

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError, ImageAnnotation
from maskops_contracts import sha256_file

SPLITS = ("train", "val", "test")
DEFAULT_RATIOS: tuple[float, float, float] = (0.8, 0.1, 0.1)
_HASH_DIGITS = 16
_HEX = frozenset(string.hexdigits)


def split_for(content_hash: str, ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> str:
    """"train", "val" or "test" for the image whose SHA-256 hex digest is ``content_hash``.

    A prefix of 16 or more hex digits gives the same answer as the whole digest.
    """
    _check_ratios(ratios)
    if len(content_hash) < _HASH_DIGITS or not set(content_hash) <= _HEX:
        problem = f"must be at least {_HASH_DIGITS} hex digits of a SHA-256"
        raise ValueError(f"content hash {content_hash!r} {problem}")
    position = int(content_hash[:_HASH_DIGITS], 16) / 16**_HASH_DIGITS
    total = sum(ratios)
    edge = 0.0
    for split, ratio in zip(SPLITS, ratios, strict=True):
        edge += ratio / total
        if ratio > 0 and position < edge:
            return split
    # Rounding can leave the top sliver of [0, 1) past the last edge: it belongs to the last used split.
    return next(split for split, ratio in zip(reversed(SPLITS), reversed(ratios), strict=True) if ratio > 0)


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` or ``"80,10,10"``: train, val and test weights, scaled to sum to 1.

    Weights rather than fractions, like ``maskops-scenes --splits``, so percentages work
    and rounding (0.33,0.33,0.33) is not an error.
    """
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        weights = []
    valid = all(math.isfinite(w) and w >= 0 for w in weights) and sum(weights) > 0
    if len(weights) != len(SPLITS) or not valid:
        problem = "must be three non-negative weights train,val,test, e.g. 0.8,0.1,0.1"
        raise ValueError(f"split {text!r} {problem}")
    total = sum(weights)
    train, val, test = (w / total for w in weights)
    return train, val, test


def content_hash(path: Path) -> str:
    """SHA-256 hex digest of the file's bytes."""
    try:
        return sha256_file(path)
    except FileNotFoundError:
        raise DatasetFormatError(path, "image file is missing") from None


def assign_splits(
    ds: AnnotationSet,
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    *,
    keep_existing: bool = False,
) -> AnnotationSet:
    """A copy of ``ds`` with every image's split set from its content hash.

    ``keep_existing`` leaves images that already have a split where they are (a frozen
    test set imported from elsewhere).
    """
    _check_ratios(ratios)
    images = []
    for image in ds.images:
        if keep_existing and image.split:
            images.append(image)
            continue
        split = split_for(content_hash(image.image), ratios)
        images.append(ImageAnnotation(image.image, image.width, image.height, image.boxes, split))
    return AnnotationSet(images=images, class_names=ds.class_names)


def _check_ratios(ratios: tuple[float, float, float]) -> None:
    if (
        len(ratios) != len(SPLITS)
        or not all(math.isfinite(r) and r >= 0 for r in ratios)
        or not math.isclose(sum(ratios), 1.0, abs_tol=1e-6)
    ):
        problem = "must be three non-negative numbers (train, val, test) summing to 1"
        raise ValueError(f"split ratios {ratios!r} {problem}")
