"""COCO reader and writer: bbox xywh, category ids, image lookup, and broken JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from dataset_builders import WITH, assert_same_boxes, splits_by_name

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.coco import read_coco, write_coco
from maskops_assets.datasets.validation import ValidationLog


@pytest.fixture
def coco_dir(sample_set: AnnotationSet, tmp_path: Path) -> Path:
    write_coco(sample_set, tmp_path / "coco")
    return tmp_path / "coco"


def edit(coco_dir: Path, change) -> Path:
    path = coco_dir / "annotations.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


def test_write_then_read_keeps_boxes_classes_and_splits(sample_set: AnnotationSet, coco_dir: Path):
    back = read_coco(coco_dir)

    assert_same_boxes(sample_set, back)
    assert back.class_names == sample_set.class_names
    assert splits_by_name(back) == splits_by_name(sample_set)


def test_written_json_is_plain_coco(coco_dir: Path):
    doc = json.loads((coco_dir / "annotations.json").read_text())

    assert [c["name"] for c in sorted(doc["categories"], key=lambda c: c["id"])] == [
        "with_mask", "without_mask", "mask_weared_incorrect",
    ]
    first = doc["annotations"][0]
    assert first["bbox"] == [4.0, 6.0, 26.5, 34.25]
    assert first["area"] == pytest.approx(26.5 * 34.25, abs=0.01)
    assert (first["category_id"], first["iscrowd"]) == (1, 0)
    assert (coco_dir / "images" / doc["images"][0]["file_name"]).is_file()


def test_a_json_file_with_images_elsewhere(coco_dir: Path, tmp_path: Path):
    moved = tmp_path / "elsewhere" / "instances.json"
    moved.parent.mkdir()
    (coco_dir / "annotations.json").rename(moved)

    with pytest.raises(DatasetFormatError, match="is missing"):
        read_coco(moved)
    assert len(read_coco(moved, image_root=coco_dir / "images").images) == 4


def test_category_ids_need_not_start_at_one(coco_dir: Path):
    def renumber(doc):
        for cat in doc["categories"]:
            cat["id"] += 10
        for ann in doc["annotations"]:
            ann["category_id"] += 10

    edit(coco_dir, renumber)

    assert read_coco(coco_dir).class_names == ("with_mask", "without_mask", "mask_weared_incorrect")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["annotations"][0].update(category_id=99), "unknown category_id 99"),
        (lambda d: d["annotations"][0].update(bbox=[4, 6, 0, 10]), "zero area"),
        (lambda d: d["annotations"][0].update(bbox=[80, 6, 30, 10]), "outside the 96x64 image"),
        (lambda d: d["annotations"][0].update(bbox=[4, 6, 10]), "expected \\[x, y, width, height\\]"),
        (lambda d: d["images"][0].update(file_name="gone.png"), "image gone.png is missing"),
        (lambda d: d["images"][0].update(width=0), "must be positive"),
    ],
)
def test_a_bad_image_or_annotation_is_named_or_skipped(coco_dir: Path, change, problem: str):
    path = edit(coco_dir, change)

    with pytest.raises(DatasetFormatError, match=problem) as err:
        read_coco(coco_dir)
    assert err.value.path == path

    validation = ValidationLog(skip_invalid=True)
    ds = read_coco(coco_dir, validation=validation)
    assert len(ds.images) == 3
    assert len(validation.skipped) == 1


def test_annotations_of_an_unknown_image_are_named(coco_dir: Path):
    edit(coco_dir, lambda d: d["annotations"][0].update(image_id=42))

    with pytest.raises(DatasetFormatError, match="refer to image_id 42"):
        read_coco(coco_dir)


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("", "file is empty", None),
        ('{\n "images": [\n  {"id": 1,}\n ]\n}', "malformed JSON", 3),
        ("[]", "expected a JSON object", None),
        ('{"images": [], "annotations": []}', "'categories' is missing", None),
        ('{"images": [], "annotations": [], "categories": [{"name": "x"}]}', "needs an integer 'id'", None),
    ],
)
def test_a_broken_json_file_is_an_error_even_when_skipping(coco_dir: Path, text: str, problem: str, line):
    (coco_dir / "annotations.json").write_text(text)

    with pytest.raises(DatasetFormatError, match=problem) as err:
        read_coco(coco_dir, validation=ValidationLog(skip_invalid=True))
    assert (err.value.path.name, err.value.line) == ("annotations.json", line)


def test_a_folder_with_two_json_files_is_ambiguous(coco_dir: Path):
    (coco_dir / "annotations.json").rename(coco_dir / "train.json")
    (coco_dir / "val.json").write_text("{}")

    expected = r"exactly one \.json file here, found train\.json, val\.json"
    with pytest.raises(DatasetFormatError, match=expected):
        read_coco(coco_dir)


def test_unused_categories_are_kept(coco_dir: Path):
    edit(coco_dir, lambda d: d["categories"].append({"id": 4, "name": "face_shield"}))

    ds = read_coco(coco_dir)

    assert ds.class_names[-1] == "face_shield"
    assert ds.images[0].boxes[0].class_name == WITH


def test_difficult_and_truncated_are_extra_annotation_keys_and_iscrowd_stays_0(
    sample_set: AnnotationSet, tmp_path: Path
):
    first = sample_set.images[0]
    flagged = (replace(first.boxes[0], difficult=True), replace(first.boxes[1], truncated=True))
    sample_set.images[0] = replace(first, boxes=flagged)

    write_coco(sample_set, tmp_path / "coco")

    anns = json.loads((tmp_path / "coco" / "annotations.json").read_text())["annotations"]
    assert (anns[0]["difficult"], anns[0]["iscrowd"], "truncated" in anns[0]) == (1, 0, False)
    assert (anns[1]["truncated"], anns[1]["iscrowd"], "difficult" in anns[1]) == (1, 0, False)
    assert not {"difficult", "truncated"} & set(anns[2])
    back = read_coco(tmp_path / "coco").images[0].boxes
    assert [(b.difficult, b.truncated) for b in back] == [(True, False), (False, True)]


def test_a_flag_that_is_not_0_or_1_is_named(coco_dir: Path):
    edit(coco_dir, lambda d: d["annotations"][0].update(difficult="yes"))

    with pytest.raises(DatasetFormatError, match=r"annotation 1 of image face_a\.png 'difficult' is 'yes'"):
        read_coco(coco_dir)
