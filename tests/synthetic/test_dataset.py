from pathlib import Path

import numpy as np
import pytest
import yaml

from maskops_assets.synthetic.dataset import generate_dataset, image_rng, split_counts
from maskops_assets.synthetic.domain import SceneDomain
from maskops_assets.synthetic.scenes import render_scene
from maskops_contracts.classes import CLASS_NAMES


def _read_labels(path: Path, width: int, height: int) -> list[tuple[str, float, float, float, float]]:
    """YOLO label lines back to (class, x1, y1, x2, y2) in pixels."""
    boxes = []
    for line in path.read_text().splitlines():
        class_id, cx, cy, w, h = line.split()
        cx, cy, w, h = float(cx) * width, float(cy) * height, float(w) * width, float(h) * height
        boxes.append((CLASS_NAMES[int(class_id)], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return boxes


def test_layout_and_data_yaml(small_dataset: Path, small_splits: dict[str, int]) -> None:
    root = small_dataset.parent
    data = yaml.safe_load(small_dataset.read_text())
    assert data["path"] == str(root.resolve())
    assert data["names"] == {0: "with_mask", 1: "without_mask", 2: "mask_weared_incorrect"}
    for split, count in small_splits.items():
        assert data[split] == f"images/{split}"
        images = sorted((root / "images" / split).glob("*.jpg"))
        labels = sorted((root / "labels" / split).glob("*.txt"))
        assert len(images) == count
        assert [p.stem for p in images] == [p.stem for p in labels]
    recipe = yaml.safe_load((root / "scenes.yaml").read_text())
    assert recipe["seed"] == 3 and recipe["images_per_split"] == small_splits
    assert SceneDomain.model_validate(recipe["domain"]) == SceneDomain.default()


def test_labels_match_the_rendered_boxes(small_dataset: Path, small_splits: dict[str, int]) -> None:
    root = small_dataset.parent
    for split, count in small_splits.items():
        for index in range(count):
            _, boxes = render_scene(SceneDomain.default(), image_rng(3, split, index), 96, 96)
            labels = _read_labels(root / "labels" / split / f"{split}_{index:05d}.txt", 96, 96)
            assert [label[0] for label in labels] == [box.class_name for box in boxes]
            for label, box in zip(labels, boxes, strict=True):
                assert label[1:] == pytest.approx((box.x1, box.y1, box.x2, box.y2), abs=1e-3)


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    def image_bytes(out: Path, seed: int) -> list[bytes]:
        generate_dataset(out, 4, seed=seed, image_size=64, splits={"train": 1.0})
        return [p.read_bytes() for p in sorted((out / "images" / "train").glob("*.jpg"))]

    first = image_bytes(tmp_path / "a", seed=5)
    assert first == image_bytes(tmp_path / "b", seed=5)
    assert first != image_bytes(tmp_path / "c", seed=6)


def test_test_split_does_not_change_when_train_grows(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "small", 3, seed=1, image_size=64, splits={"train": 2, "test": 1})
    generate_dataset(tmp_path / "big", 6, seed=1, image_size=64, splits={"train": 5, "test": 1})
    small = (tmp_path / "small" / "images" / "test" / "test_00000.jpg").read_bytes()
    assert small == (tmp_path / "big" / "images" / "test" / "test_00000.jpg").read_bytes()


def test_every_class_appears_in_a_modest_dataset(tmp_path: Path) -> None:
    data_yaml = generate_dataset(tmp_path, 12, seed=0, image_size=64, splits={"train": 1.0})
    recipe = yaml.safe_load((data_yaml.parent / "scenes.yaml").read_text())
    assert all(count > 0 for count in recipe["boxes_per_class"]["train"].values())


def test_existing_dataset_is_kept_unless_overwrite(tmp_path: Path) -> None:
    generate_dataset(tmp_path, 4, seed=0, image_size=64)
    with pytest.raises(FileExistsError, match="overwrite"):
        generate_dataset(tmp_path, 2, seed=0, image_size=64)
    generate_dataset(tmp_path, 2, seed=0, image_size=64, splits={"train": 1.0}, overwrite=True)
    assert len(list((tmp_path / "images").rglob("*.jpg"))) == 2


def test_split_counts_are_exact() -> None:
    assert split_counts(210, {"train": 120, "val": 30, "test": 60}) == {"train": 120, "val": 30, "test": 60}
    counts = split_counts(11, {"train": 0.7, "val": 0.15, "test": 0.15})
    assert sum(counts.values()) == 11 and counts["train"] == 8
    with pytest.raises(ValueError, match="unknown split"):
        split_counts(5, {"training": 1.0})


def test_image_streams_are_independent() -> None:
    a = image_rng(0, "train", 0).random(4)
    assert np.array_equal(a, image_rng(0, "train", 0).random(4))
    assert not np.array_equal(a, image_rng(0, "test", 0).random(4))
    assert not np.array_equal(a, image_rng(0, "train", 1).random(4))
