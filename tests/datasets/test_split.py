"""The content-hash split: deterministic, close to the ratios, and stable when images are added."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from dataset_builders import WITH, write_image

from maskops_assets.datasets.annotations import AnnotationSet, BoxAnnotation, ImageAnnotation
from maskops_assets.datasets.split import assign_splits, content_hash, split_for
from maskops_contracts.sample import content_sample_id


def digest(n: int) -> str:
    return hashlib.sha256(f"image-{n}".encode()).hexdigest()


def image_set(folder: Path, seeds: range) -> AnnotationSet:
    images = [
        ImageAnnotation(write_image(folder / f"img_{s:03d}.png", 16, 16, seed=s), 16, 16,
                        (BoxAnnotation(1, 1, 8, 8, WITH),))
        for s in seeds
    ]
    return AnnotationSet(images=images)


def test_the_same_hash_always_gets_the_same_split():
    assert [split_for(digest(n)) for n in range(200)] == [split_for(digest(n)) for n in range(200)]


def test_shares_follow_the_ratios():
    counts = Counter(split_for(digest(n), (0.7, 0.2, 0.1)) for n in range(5000))

    assert counts["train"] / 5000 == pytest.approx(0.7, abs=0.03)
    assert counts["val"] / 5000 == pytest.approx(0.2, abs=0.03)
    assert counts["test"] / 5000 == pytest.approx(0.1, abs=0.03)


def test_a_zero_ratio_split_gets_nothing():
    assert {split_for(digest(n), (0.9, 0.1, 0.0)) for n in range(2000)} == {"train", "val"}
    assert split_for("f" * 64, (0.5, 0.5, 0.0)) == "val"


def test_a_sample_id_splits_like_the_full_hash():
    data = b"\x89PNG fake image bytes"
    assert split_for(content_sample_id(data)) == split_for(hashlib.sha256(data).hexdigest())


def test_adding_50_images_never_moves_an_existing_one(tmp_path: Path):
    before = assign_splits(image_set(tmp_path, range(60)))
    grown = image_set(tmp_path, range(110))

    after = assign_splits(grown)

    old = {i.image: i.split for i in before.images}
    assert {i.image: i.split for i in after.images if i.image in old} == old
    assert set(old.values()) == {"train", "val", "test"}


def test_splits_come_from_the_bytes_not_the_name(tmp_path: Path):
    a = write_image(tmp_path / "a.png", 16, 16, seed=5)
    b = tmp_path / "renamed.png"
    b.write_bytes(a.read_bytes())
    ds = AnnotationSet([ImageAnnotation(p, 16, 16) for p in (a, b)])

    first, second = assign_splits(ds).images

    assert content_hash(a) == content_hash(b) == hashlib.sha256(a.read_bytes()).hexdigest()
    assert first.split == second.split


def test_keep_existing_leaves_a_frozen_split_alone(tmp_path: Path):
    ds = image_set(tmp_path, range(20))
    frozen = ImageAnnotation(ds.images[0].image, 16, 16, ds.images[0].boxes, "test")
    ds.images[0] = frozen

    assert assign_splits(ds, (1.0, 0.0, 0.0), keep_existing=True).images[0].split == "test"
    assert {i.split for i in assign_splits(ds, (1.0, 0.0, 0.0)).images} == {"train"}


@pytest.mark.parametrize("ratios", [(0.8, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1), (float("nan"), 0.5, 0.5)])
def test_bad_ratios_are_refused(ratios):
    with pytest.raises(ValueError, match="split ratios"):
        split_for(digest(1), ratios)


@pytest.mark.parametrize("bad_hash", ["abc", "z" * 64, ""])
def test_a_bad_hash_is_refused(bad_hash: str):
    with pytest.raises(ValueError, match="hex digits"):
        split_for(bad_hash)
