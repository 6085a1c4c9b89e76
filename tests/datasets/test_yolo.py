"""YOLO reader and writer: the ultralytics layout, and every way a YOLO dataset can be broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dataset_builders import INCORRECT, WITH, assert_same_boxes, splits_by_name, write_image

from maskops_assets.datasets.annotations import (
    AnnotationSet,
    BoxAnnotation,
    DatasetFormatError,
    ImageAnnotation,
)
from maskops_assets.datasets.validation import ValidationLog
from maskops_assets.datasets.yolo import label_path_for, read_yolo, write_yolo
from maskops_contracts.classes import CLASS_NAMES


def test_write_then_read_gives_the_same_boxes_classes_and_splits(sample_set: AnnotationSet, tmp_path: Path):
    data_yaml = write_yolo(sample_set, tmp_path / "out")

    back = read_yolo(data_yaml)

    assert_same_boxes(sample_set, back)
    assert back.class_names == sample_set.class_names
    assert splits_by_name(back) == splits_by_name(sample_set)


def test_layout_and_data_yaml_are_what_ultralytics_reads(sample_set: AnnotationSet, tmp_path: Path):
    out = tmp_path / "out"
    config = yaml.safe_load(write_yolo(sample_set, out).read_text())

    assert config == {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "test": "images/test",
        "names": {0: "with_mask", 1: "without_mask", 2: "mask_weared_incorrect"},
    }
    assert (out / "images" / "val" / "face_b.jpg").is_file()
    # face_a.png is 96x64: box (4, 6, 30.5, 40.25) of class 0.
    first = (out / "labels" / "train" / "face_a.txt").read_text().splitlines()[0].split()
    assert first[0] == "0"
    expected = [17.25 / 96, 23.125 / 64, 26.5 / 96, 34.25 / 64]
    assert [float(v) for v in first[1:]] == pytest.approx(expected, abs=1e-6)
    assert (out / "labels" / "train" / "empty_room.txt").read_text() == ""


def test_images_without_split_go_to_train_and_data_yaml_lists_only_used_splits(tmp_path: Path):
    image = write_image(tmp_path / "a.png", 32, 32)
    ds = AnnotationSet([ImageAnnotation(image, 32, 32, (BoxAnnotation(1, 1, 9, 9, WITH),))])

    config = yaml.safe_load(write_yolo(ds, tmp_path / "out").read_text())

    assert (config.get("train"), config.get("val"), config.get("test")) == ("images/train", None, None)
    assert (tmp_path / "out" / "labels" / "train" / "a.txt").is_file()


def difficult_set(tmp_path: Path) -> AnnotationSet:
    image = write_image(tmp_path / "a.png", 40, 40)
    boxes = (
        BoxAnnotation(1, 1, 9, 9, WITH),
        BoxAnnotation(10, 10, 20, 20, INCORRECT, difficult=True),
        BoxAnnotation(21, 21, 40, 39, WITH, truncated=True),
    )
    return AnnotationSet([ImageAnnotation(image, 40, 40, boxes, "train")])


def test_difficult_boxes_are_left_out_by_default_and_truncated_ones_kept(tmp_path: Path):
    ds = difficult_set(tmp_path)

    write_yolo(ds, tmp_path / "out")

    lines = (tmp_path / "out" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["0", "0"]
    assert [i.class_name for i in read_yolo(tmp_path / "out" / "data.yaml").images[0].boxes] == [WITH, WITH]


def test_keep_difficult_writes_them_as_ordinary_boxes(tmp_path: Path):
    ds = difficult_set(tmp_path)

    write_yolo(ds, tmp_path / "out", keep_difficult=True)

    lines = (tmp_path / "out" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["0", "2", "0"]


@pytest.mark.parametrize(
    ("splits", "expected"),
    [
        (("train",), {"train": "images/train", "val": "images/train"}),
        (("train", "test"), {"train": "images/train", "val": "images/train", "test": "images/test"}),
        (("test",), {"train": "images/test", "val": "images/test", "test": "images/test"}),
        (("val",), {"train": "images/val", "val": "images/val"}),
    ],
)
def test_fill_required_splits_points_a_missing_train_or_val_at_images_that_exist(
    tmp_path: Path, splits: tuple[str, ...], expected: dict[str, str]
):
    images = [
        ImageAnnotation(write_image(tmp_path / f"{split}.png", 16, 16, seed=n), 16, 16, (), split)
        for n, split in enumerate(splits)
    ]
    validation = ValidationLog()

    data_yaml = write_yolo(
        AnnotationSet(images), tmp_path / "out", fill_required_splits=True, validation=validation
    )

    config = yaml.safe_load(data_yaml.read_text())
    assert {k: config[k] for k in ("train", "val", "test") if k in config} == expected
    assert all((tmp_path / "out" / folder).is_dir() for folder in expected.values())
    missing = [k for k in ("train", "val") if k not in splits]
    assert [w.path for w in validation.warnings] == [data_yaml] * len(missing)
    for key, warning in zip(missing, validation.warnings, strict=True):
        stand_in = expected[key].removeprefix("images/")
        assert f"no {key} images; '{key}' points at the {stand_in} images" in warning.message
    # read back, every image once, in the split it was written to
    assert sorted(i.split for i in read_yolo(data_yaml).images) == sorted(splits)


def test_same_file_name_from_two_folders_keeps_both_images(tmp_path: Path):
    a = write_image(tmp_path / "cam1" / "000001.jpg", 32, 32, seed=1)
    b = write_image(tmp_path / "cam2" / "000001.jpg", 32, 32, seed=2)
    c = write_image(tmp_path / "cam2" / "000001.png", 32, 32, seed=3)
    boxes = (BoxAnnotation(2, 2, 10, 10, WITH),)
    ds = AnnotationSet([ImageAnnotation(p, 32, 32, boxes) for p in (a, b, c)])

    back = read_yolo(write_yolo(ds, tmp_path / "out"))

    assert len(back.images) == 3
    assert len(list((tmp_path / "out" / "labels" / "train").glob("*.txt"))) == 3


def test_without_copy_images_are_symlinked(sample_set: AnnotationSet, tmp_path: Path):
    out = tmp_path / "out"
    write_yolo(sample_set, out, copy_images=False)

    linked = out / "images" / "train" / "face_a.png"
    assert linked.is_symlink()
    assert linked.resolve() == sample_set.images[0].image.resolve()


def test_writing_labels_into_the_dataset_the_images_came_from_leaves_images_alone(
    sample_set: AnnotationSet, tmp_path: Path
):
    data_yaml = write_yolo(sample_set, tmp_path / "out")
    in_place = read_yolo(data_yaml)

    write_yolo(in_place, tmp_path / "out")

    assert_same_boxes(sample_set, read_yolo(data_yaml))
    assert not any(p.is_symlink() for p in (tmp_path / "out" / "images").rglob("*"))


def test_names_as_a_list_and_a_moved_dataset_are_read(sample_set: AnnotationSet, tmp_path: Path):
    """A DVC checkout elsewhere still names the old absolute path; the data.yaml folder is used."""
    data_yaml = write_yolo(sample_set, tmp_path / "out")
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "out", moved)
    config = yaml.safe_load((moved / "data.yaml").read_text())
    config["names"] = list(config["names"].values())
    (moved / "data.yaml").write_text(yaml.safe_dump(config))
    assert not data_yaml.exists()

    back = read_yolo(moved / "data.yaml")

    assert_same_boxes(sample_set, back)
    assert all(str(image.image).startswith(str(moved.resolve())) for image in back.images)


def test_a_split_given_as_an_image_list_file(sample_set: AnnotationSet, tmp_path: Path):
    out = tmp_path / "out"
    write_yolo(sample_set, out)
    (out / "train.txt").write_text("./images/train/face_a.png\nimages/train/empty_room.png\n")
    config = {"train": "train.txt", "names": list(sample_set.class_names)}
    (out / "data.yaml").write_text(yaml.safe_dump(config))

    back = read_yolo(out / "data.yaml")

    assert sorted(i.image.name for i in back.images) == ["empty_room.png", "face_a.png"]


def test_label_path_follows_the_ultralytics_rule():
    assert label_path_for(Path("/d/images/train/a.b.jpg")) == Path("/d/labels/train/a.b.txt")
    # Only the last /images/ changes, as in ultralytics' img2label_paths.
    assert label_path_for(Path("/images/x/images/train/a.png")) == Path("/images/x/labels/train/a.txt")


@pytest.fixture
def yolo_dir(sample_set: AnnotationSet, tmp_path: Path) -> Path:
    write_yolo(sample_set, tmp_path / "yolo")
    return tmp_path / "yolo"


BAD_LINES = [
    ("0 0.5 0.5 0.2", "expected 5 fields"),
    ("0 0.5 0.5 0.2 0.2 0.1", "expected 5 fields"),
    ("7 0.5 0.5 0.2 0.2", "unknown class id 7"),
    ("zero 0.5 0.5 0.2 0.2", "must be numbers"),
    ("0 0.95 0.5 0.3 0.2", "outside the 96x64 image"),
    ("0 0.5 0.5 0.0 0.2", "zero area"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_a_bad_label_line_names_the_file_line_and_problem(yolo_dir: Path, line: str, problem: str):
    label = yolo_dir / "labels" / "train" / "face_a.txt"
    label.write_text(label.read_text() + line + "\n")

    with pytest.raises(DatasetFormatError, match=problem) as err:
        read_yolo(yolo_dir / "data.yaml")

    assert err.value.path == label
    assert err.value.line == 3
    assert str(err.value).startswith(f"{label}:3: ")


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_skip_invalid_leaves_out_the_bad_image_and_reads_the_rest(yolo_dir: Path, line: str, problem: str):
    label = yolo_dir / "labels" / "train" / "face_a.txt"
    label.write_text(line + "\n")
    validation = ValidationLog(skip_invalid=True)

    back = read_yolo(yolo_dir / "data.yaml", validation=validation)

    assert sorted(i.image.name for i in back.images) == ["empty_room.png", "face_b.jpg", "face_c.png"]
    [skipped] = validation.skipped
    assert (skipped.path, skipped.line) == (label, 1)
    assert problem in skipped.reason


def test_a_box_less_than_a_pixel_outside_is_clipped(yolo_dir: Path):
    # 96x64 image; x2 = (0.9 + 0.2/2 + 0.008) * 96 = 96.77, within the 1 px tolerance.
    (yolo_dir / "labels" / "train" / "face_a.txt").write_text("2 0.908 0.5 0.2 0.2\n")

    [image] = [i for i in read_yolo(yolo_dir / "data.yaml").images if i.image.name == "face_a.png"]

    assert image.boxes[0].x2 == 96.0
    assert image.boxes[0].class_name == INCORRECT


def test_a_label_file_without_its_image_is_a_missing_image(yolo_dir: Path):
    (yolo_dir / "images" / "val" / "face_b.jpg").unlink()

    with pytest.raises(DatasetFormatError, match="label file has no image") as err:
        read_yolo(yolo_dir / "data.yaml")
    assert err.value.path == yolo_dir / "labels" / "val" / "face_b.txt"

    validation = ValidationLog(skip_invalid=True)
    assert len(read_yolo(yolo_dir / "data.yaml", validation=validation).images) == 3
    assert [s.path.name for s in validation.skipped] == ["face_b.txt"]


def test_an_image_missing_from_a_list_file_is_named(yolo_dir: Path):
    (yolo_dir / "train.txt").write_text("images/train/face_a.png\nimages/train/gone.png\n")
    (yolo_dir / "data.yaml").write_text(yaml.safe_dump({"train": "train.txt", "names": list(CLASS_NAMES)}))

    with pytest.raises(DatasetFormatError, match=r"gone\.png is missing") as err:
        read_yolo(yolo_dir / "data.yaml")
    assert (err.value.path.name, err.value.line) == ("train.txt", 2)


def test_an_empty_label_file_is_a_background_image(yolo_dir: Path):
    (yolo_dir / "labels" / "train" / "face_a.txt").write_text("")

    [image] = [i for i in read_yolo(yolo_dir / "data.yaml").images if i.image.name == "face_a.png"]

    assert image.boxes == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "file is empty"),
        ("train: [images/train\nnames: [a]\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("train: images/train\n", "'names' is missing"),
        ("train: images/train\nnames: {0: a, 2: b}\n", "ids must be 0..1"),
        ("train: images/train\nnc: 3\nnames: [a, b]\n", "'nc' is 3"),
        ("train: images/nowhere\nnames: [a]\n", "not a folder"),
    ],
)
def test_a_bad_data_yaml_is_named_with_the_problem(yolo_dir: Path, text: str, problem: str):
    (yolo_dir / "data.yaml").write_text(text)

    with pytest.raises(DatasetFormatError, match=problem) as err:
        read_yolo(yolo_dir / "data.yaml", validation=ValidationLog(skip_invalid=True))
    assert err.value.path == yolo_dir / "data.yaml"


def test_writing_a_box_outside_its_image_is_refused(tmp_path: Path):
    image = write_image(tmp_path / "a.png", 32, 32)
    ds = AnnotationSet([ImageAnnotation(image, 32, 32, (BoxAnnotation(10, 10, 40, 20, WITH),))])

    with pytest.raises(DatasetFormatError, match="outside the 32x32 image"):
        write_yolo(ds, tmp_path / "out")
