"""Label Studio JSON: exports with their image reference styles, pre-annotations, and broken tasks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from dataset_builders import INCORRECT, WITH, WITHOUT, assert_same_boxes, splits_by_name, write_image

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.labelstudio import (
    parse_tasks,
    read_labelstudio,
    resolve_image_ref,
    write_labelstudio,
)
from maskops_assets.datasets.validation import ValidationLog


def region(label: str, x: float, y: float, w: float, h: float, size=(200, 100), **extra) -> dict:
    return {
        "id": f"r{x:g}",
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": size[0],
        "original_height": size[1],
        "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]} | extra,
    }


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """An export as Label Studio writes it: local storage, an upload, and a plain path."""
    media = tmp_path / "media"
    write_image(media / "cams" / "a.png", 200, 100, seed=1)
    write_image(media / "3" / "1a2b3c4d-b.png", 200, 100, seed=2)
    write_image(media / "c.png", 200, 100, seed=3)
    tasks = [
        {"id": 1, "data": {"image": "/data/local-files/?d=cams%2Fa.png"}, "annotations": [
            {"result": [region(WITH, 10, 20, 25, 50), region(WITHOUT, 50, 0, 50, 100)]},
        ]},
        {"id": 2, "data": {"image": "/data/upload/3/1a2b3c4d-b.png"}, "annotations": [
            {"result": [region(INCORRECT, 0, 0, 10, 10)], "updated_at": "2026-01-02T00:00:00Z"},
            {"result": [region(WITH, 0, 0, 10, 10)], "updated_at": "2026-01-01T00:00:00Z"},
            {"result": [region(WITHOUT, 0, 0, 10, 10)], "updated_at": "2026-01-03T00:00:00Z",
             "was_cancelled": True},
        ]},
        {"id": 3, "data": {"image": "c.png"}, "annotations": [{"result": []}]},
        {"id": 4, "data": {"image": "c.png"}, "annotations": [],
         "predictions": [{"result": [region(WITH, 1, 1, 5, 5)], "model_version": "v1"}]},
    ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    return tmp_path


def test_an_export_is_read_with_every_image_reference_style(export_dir: Path):
    ds = read_labelstudio(export_dir / "export.json", image_root=export_dir / "media")

    assert [i.image.name for i in ds.images] == ["a.png", "1a2b3c4d-b.png", "c.png"]
    a = ds.images[0]
    assert (a.width, a.height) == (200, 100)
    assert [(b.class_name, b.x1, b.y1, b.x2, b.y2) for b in a.boxes] == [
        (WITH, 20.0, 20.0, 70.0, 70.0),
        (WITHOUT, 100.0, 0.0, 200.0, 100.0),
    ]


def test_the_latest_annotation_counts_and_cancelled_ones_do_not(export_dir: Path):
    ds = read_labelstudio(export_dir / "export.json", image_root=export_dir / "media")

    assert [b.class_name for b in ds.images[1].boxes] == [INCORRECT]


def test_an_annotation_without_regions_is_a_background_image_and_unlabelled_tasks_are_left_out(
    export_dir: Path,
):
    ds = read_labelstudio(export_dir / "export.json", image_root=export_dir / "media")

    assert ds.images[2].boxes == ()
    assert len(ds.images) == 3


def test_predictions_count_only_when_asked(export_dir: Path):
    ds = read_labelstudio(export_dir / "export.json", image_root=export_dir / "media", use_predictions=True)

    assert len(ds.images) == 4
    assert [b.class_name for b in ds.images[3].boxes] == [WITH]


def test_write_then_read_keeps_boxes_and_splits(sample_set: AnnotationSet, tmp_path: Path):
    tasks_json = write_labelstudio(sample_set, tmp_path / "ls")

    back = read_labelstudio(tasks_json)

    assert_same_boxes(sample_set, back)
    assert splits_by_name(back) == splits_by_name(sample_set)


def test_pre_annotations_are_written_as_predictions_label_studio_imports(
    sample_set: AnnotationSet, tmp_path: Path
):
    tasks_json = write_labelstudio(sample_set, tmp_path / "ls", as_predictions=True, model_version="m7")
    tasks = json.loads(tasks_json.read_text())

    task = tasks[0]
    assert task["data"]["image"] == "/data/local-files/?d=images/face_a.png"
    assert "annotations" not in task
    [prediction] = task["predictions"]
    assert prediction["model_version"] == "m7"
    first = prediction["result"][0]
    assert (first["type"], first["from_name"], first["to_name"]) == ("rectanglelabels", "label", "image")
    assert (first["original_width"], first["original_height"]) == (96, 64)
    assert first["value"]["x"] == pytest.approx(4 / 96 * 100)
    assert first["value"]["rectanglelabels"] == [WITH]
    # Read back only as predictions: nobody has reviewed them.
    assert read_labelstudio(tmp_path / "ls").images == []
    assert_same_boxes(sample_set, read_labelstudio(tmp_path / "ls", use_predictions=True))


def test_image_references_resolve_against_the_image_root(tmp_path: Path):
    assert resolve_image_ref("/data/local-files/?d=sub%2Fx.jpg", tmp_path)[0] == tmp_path / "sub" / "x.jpg"
    assert tmp_path / "x.jpg" in resolve_image_ref("/data/upload/7/0badf00d-x.jpg", tmp_path)
    assert resolve_image_ref("https://cdn.example/a/b/x.jpg?sig=1", tmp_path) == [tmp_path / "x.jpg"]
    assert resolve_image_ref("s3://bucket/samples/x.jpg", tmp_path) == [tmp_path / "x.jpg"]
    assert resolve_image_ref("/abs/x.jpg", tmp_path) == [Path("/abs/x.jpg")]


def test_percent_rounding_just_past_the_edge_is_clipped(export_dir: Path):
    tasks = [{"data": {"image": "c.png"}, "annotations": [{"result": [region(WITH, 50, 50, 50.4, 50.2)]}]}]

    ds = parse_tasks(tasks, source=export_dir / "t.json", image_root=export_dir / "media")

    assert (ds.images[0].boxes[0].x2, ds.images[0].boxes[0].y2) == (200.0, 100.0)


BAD_TASKS = [
    ({"data": {}}, "has no data.image"),
    ({"nodata": 1}, "has no 'data' object"),
    ({"data": {"image": "gone.png"}, "annotations": [{"result": []}]}, "image gone.png is missing"),
    (region("hat", 1, 1, 5, 5), "unknown class 'hat'"),
    (region(WITH, 1, 1, 0, 5), "zero area"),
    (region(WITH, 90, 1, 20, 5), "outside"),
    (region(WITH, 1, 1, 5, 5, rotation=30), "rotated 30"),
    ({"type": "polygonlabels"}, "polygonlabels"),
    (region(WITH, 1, 1, 5, 5, size=(0, 100)), "image size 0x100 must be positive"),
    (region(WITH, 1, 1, 5, 5) | {"meta": {"difficult": "perhaps"}}, "meta.difficult is 'perhaps'"),
]


@pytest.mark.parametrize(("task", "problem"), BAD_TASKS)
def test_a_bad_task_is_named_or_skipped(export_dir: Path, task: dict, problem: str):
    if task.get("type"):  # a region: put it into an otherwise good task
        task = {"data": {"image": "c.png"}, "annotations": [{"result": [task]}]}
    good = {"id": 9, "data": {"image": "c.png"}, "annotations": [{"result": [region(WITH, 1, 1, 5, 5)]}]}
    source = export_dir / "t.json"

    with pytest.raises(DatasetFormatError, match=problem) as err:
        parse_tasks([task, good], source=source, image_root=export_dir / "media")
    assert err.value.path == source
    assert "task #0" in err.value.problem

    validation = ValidationLog(skip_invalid=True)
    ds = parse_tasks([task, good], source=source, image_root=export_dir / "media", validation=validation)
    assert len(ds.images) == 1
    assert len(validation.skipped) == 1


@pytest.mark.parametrize(
    ("text", "problem"), [("", "file is empty"), ("[{", "malformed JSON"), ("{}", "list of tasks")]
)
def test_a_broken_export_file_is_named(tmp_path: Path, text: str, problem: str):
    (tmp_path / "export.json").write_text(text)

    with pytest.raises(DatasetFormatError, match=problem) as err:
        read_labelstudio(tmp_path / "export.json", validation=ValidationLog(skip_invalid=True))
    assert err.value.path == tmp_path / "export.json"


def test_difficult_and_truncated_travel_in_the_region_meta(sample_set: AnnotationSet, tmp_path: Path):
    first = sample_set.images[0]
    flagged = (replace(first.boxes[0], difficult=True, truncated=True), first.boxes[1])
    sample_set.images[0] = replace(first, boxes=flagged)

    tasks_json = write_labelstudio(sample_set, tmp_path / "ls")

    regions = json.loads(tasks_json.read_text())[0]["annotations"][0]["result"]
    assert regions[0]["meta"] == {"difficult": True, "truncated": True}
    assert "meta" not in regions[1]
    back = read_labelstudio(tasks_json).images[0].boxes
    assert [(b.difficult, b.truncated) for b in back] == [(True, True), (False, False)]


def test_a_reviewer_note_beside_the_flags_is_read(export_dir: Path):
    # Label Studio adds its own "text" key to meta when a reviewer writes a note on the region.
    flagged = region(WITH, 1, 1, 5, 5) | {"meta": {"difficult": 1, "text": ["blurred"]}}
    tasks = [{"data": {"image": "c.png"}, "annotations": [{"result": [flagged]}]}]

    ds = parse_tasks(tasks, source=export_dir / "t.json", image_root=export_dir / "media")

    assert (ds.images[0].boxes[0].difficult, ds.images[0].boxes[0].truncated) == (True, False)
