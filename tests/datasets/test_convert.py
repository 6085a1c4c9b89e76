"""Converting between every pair of formats loses no box and no class; the report says what happened."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml
from dataset_builders import INCORRECT, WITH, WITHOUT, assert_same_boxes, splits_by_name, write_kaggle_set

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.convert import NothingToConvert, convert
from maskops_assets.datasets.formats import FORMATS, ReadOptions, get_format
from maskops_assets.datasets.split import content_hash, split_for
from maskops_assets.datasets.validation import ValidationLog

PAIRS = list(itertools.permutations(sorted(FORMATS), 2))


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_a_to_b_to_a_keeps_every_box_and_class(sample_set: AnnotationSet, tmp_path: Path, a: str, b: str):
    FORMATS[a].write(sample_set, tmp_path / "a")

    there = convert(tmp_path / "a", a, tmp_path / "b", b)
    back = convert(tmp_path / "b", b, tmp_path / "a2", a)

    result = FORMATS[a].read(tmp_path / "a2")
    assert_same_boxes(sample_set, result, tol=0.5)
    assert result.class_names == sample_set.class_names
    assert splits_by_name(result) == splits_by_name(sample_set)
    for report in (there, back):
        assert report.images == 4
        assert report.boxes_per_class == {"with_mask": 3, "without_mask": 2, "mask_weared_incorrect": 2}
        assert report.skipped == []


def test_the_report_counts_and_lists_skipped_items(sample_set: AnnotationSet, tmp_path: Path):
    FORMATS["yolo"].write(sample_set, tmp_path / "yolo")
    bad_label = tmp_path / "yolo" / "labels" / "test" / "face_c.txt"
    bad_label.write_text("0 0.5 0.5 0.2\n")
    (tmp_path / "yolo" / "images" / "val" / "face_b.jpg").unlink()

    report = convert(tmp_path / "yolo", "yolo", tmp_path / "coco", "coco", skip_invalid=True)

    assert report.images == 2
    assert report.boxes_per_class == {"with_mask": 1, "without_mask": 1, "mask_weared_incorrect": 0}
    assert sorted((s.path.name, s.line) for s in report.skipped) == [("face_b.txt", None), ("face_c.txt", 1)]
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["skipped_count"] == 2
    assert as_json["counts"]["train"]["with_mask"] == 1
    assert "2 skipped" in report.summary()


def test_without_skip_the_first_bad_item_stops_the_conversion(sample_set: AnnotationSet, tmp_path: Path):
    FORMATS["yolo"].write(sample_set, tmp_path / "yolo")
    (tmp_path / "yolo" / "labels" / "test" / "face_c.txt").write_text("5 0.5 0.5 0.2 0.2\n")

    with pytest.raises(DatasetFormatError, match="unknown class id 5"):
        convert(tmp_path / "yolo", "yolo", tmp_path / "voc", "voc")


def test_a_destination_with_files_in_it_is_refused(sample_set: AnnotationSet, tmp_path: Path):
    FORMATS["voc"].write(sample_set, tmp_path / "voc")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("x")

    with pytest.raises(DatasetFormatError, match="not an empty folder"):
        convert(tmp_path / "voc", "voc", tmp_path / "out", "yolo")


def test_options_a_format_does_not_take_are_refused(tmp_path: Path):
    options = ReadOptions(ValidationLog(), image_root=tmp_path)

    with pytest.raises(ValueError, match="image_root does not apply to the yolo format"):
        FORMATS["yolo"].read(tmp_path, options)
    with pytest.raises(ValueError, match="unknown dataset format 'cvat'; known: yolo, voc"):
        get_format("cvat")


def test_a_yolo_folder_without_data_yaml_is_named(tmp_path: Path):
    with pytest.raises(DatasetFormatError, match=r"expected data\.yaml") as err:
        FORMATS["yolo"].read(tmp_path)
    assert err.value.path == tmp_path


# Issue 8: a held-out VOC set in the Kaggle layout.


@pytest.fixture
def flagged_voc(tmp_path: Path) -> Path:
    """Two images; one difficult box (without_mask) and one truncated box."""
    files = {
        "a": (60, 40, [(WITH, 1, 2, 30, 35), (WITHOUT, 31, 2, 49, 39, 1, 0)]),
        "b": (40, 40, [(INCORRECT, 0, 5, 20, 30, 0, 1)]),
    }
    return write_kaggle_set(tmp_path / "voc", files)


def test_when_every_item_is_invalid_nothing_is_written_and_the_report_says_why(tmp_path: Path):
    root = write_kaggle_set(tmp_path / "voc", {"a": (50, 40, [(WITH, 1, 1, 9, 9)]), "b": (50, 40, [])})
    for xml in (root / "annotations").iterdir():
        xml.write_text("<annotation>")

    with pytest.raises(NothingToConvert, match=r"nothing valid found: all 2 item\(s\) were invalid") as err:
        convert(root, "voc", tmp_path / "yolo", "yolo", skip_invalid=True)

    assert err.value.path == root
    assert sorted(s.path.name for s in err.value.report.skipped) == ["a.xml", "b.xml"]
    assert err.value.report.to_dict()["output"] is None
    assert not (tmp_path / "yolo").exists()


def test_a_source_without_images_is_an_error_too(tmp_path: Path):
    (tmp_path / "ls").mkdir()
    (tmp_path / "ls" / "tasks.json").write_text('[{"data": {"image": "x.png"}}]')  # not annotated yet

    with pytest.raises(NothingToConvert, match="no images found"):
        convert(tmp_path / "ls", "labelstudio", tmp_path / "yolo", "yolo")
    assert not (tmp_path / "yolo").exists()


def test_split_re_splits_by_content_hash(sample_set: AnnotationSet, tmp_path: Path):
    FORMATS["voc"].write(sample_set, tmp_path / "voc")
    ratios = (0.5, 0.25, 0.25)

    report = convert(tmp_path / "voc", "voc", tmp_path / "coco", "coco", split=ratios)

    expected = {image.image.name: split_for(content_hash(image.image), ratios) for image in sample_set.images}
    assert splits_by_name(FORMATS["coco"].read(tmp_path / "coco")) == expected
    assert report.split_ratios == ratios
    assert report.to_dict()["split_ratios"] == [0.5, 0.25, 0.25]


def test_a_yolo_output_always_has_train_and_val(tmp_path: Path):
    root = write_kaggle_set(tmp_path / "voc", {"a": (50, 40, [(WITH, 1, 1, 9, 9)]), "b": (50, 40, [])})

    report = convert(root, "voc", tmp_path / "yolo", "yolo")

    config = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text())
    assert (config["train"], config["val"], "test" in config) == ("images/train", "images/train", False)
    [warning] = report.warnings
    assert warning.path == tmp_path / "yolo" / "data.yaml"
    assert "no val images" in warning.message
    assert report.to_dict()["warnings"][0]["message"] == warning.message


def test_difficult_boxes_are_left_out_of_yolo_and_counted(flagged_voc: Path, tmp_path: Path):
    report = convert(flagged_voc, "voc", tmp_path / "yolo", "yolo")

    assert report.difficult_left_out == 1
    assert report.boxes_per_class == {WITH: 1, WITHOUT: 0, INCORRECT: 1}
    assert report.to_dict()["difficult_left_out"] == 1
    assert "1 difficult boxes left out" in report.summary()
    assert (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().count("\n") == 1


def test_keep_difficult_writes_them_into_yolo(flagged_voc: Path, tmp_path: Path):
    report = convert(flagged_voc, "voc", tmp_path / "yolo", "yolo", keep_difficult=True)

    assert report.difficult_left_out == 0
    assert report.boxes_per_class == {WITH: 1, WITHOUT: 1, INCORRECT: 1}
    assert (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().count("\n") == 2


def test_difficult_and_truncated_survive_voc_coco_labelstudio_voc(flagged_voc: Path, tmp_path: Path):
    reports = [
        convert(flagged_voc, "voc", tmp_path / "coco", "coco"),
        convert(tmp_path / "coco", "coco", tmp_path / "ls", "labelstudio"),
        convert(tmp_path / "ls", "labelstudio", tmp_path / "voc2", "voc"),
    ]

    flags = {
        image.image.name: [(b.class_name, b.difficult, b.truncated) for b in image.boxes]
        for image in FORMATS["voc"].read(tmp_path / "voc2").images
    }
    assert flags == {
        "a.png": [(WITH, False, False), (WITHOUT, True, False)],
        "b.png": [(INCORRECT, False, True)],
    }
    assert [r.difficult_left_out for r in reports] == [0, 0, 0]
    assert [r.stats.difficult_boxes for r in reports] == [1, 1, 1]

