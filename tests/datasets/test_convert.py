"""Converting between every pair of formats loses no box and no class; the report says what happened."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from dataset_builders import assert_same_boxes, splits_by_name

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.convert import convert
from maskops_assets.datasets.formats import FORMATS, ReadOptions, get_format
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
