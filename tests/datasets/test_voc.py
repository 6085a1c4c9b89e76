"""Pascal VOC reader and writer: the Kaggle face-mask layout, classic VOC, and broken XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import INCORRECT, WITH, WITHOUT, assert_same_boxes, splits_by_name, write_image

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.validation import ValidationLog
from maskops_assets.datasets.voc import read_voc, write_voc


def kaggle_xml(filename: str, width: int, height: int, objects: list[tuple[str, int, int, int, int]]) -> str:
    """An annotation file as the Kaggle face-mask dataset ships them."""
    parts = [
        "<annotation>\n    <folder>images</folder>\n",
        f"    <filename>{filename}</filename>\n",
        f"    <size>\n        <width>{width}</width>\n        <height>{height}</height>\n",
        "        <depth>3</depth>\n    </size>\n    <segmented>0</segmented>\n",
    ]
    for name, x1, y1, x2, y2 in objects:
        parts.append(
            f"    <object>\n        <name>{name}</name>\n        <pose>Unspecified</pose>\n"
            "        <truncated>0</truncated>\n        <occluded>0</occluded>\n"
            "        <difficult>0</difficult>\n"
            f"        <bndbox>\n            <xmin>{x1}</xmin>\n            <ymin>{y1}</ymin>\n"
            f"            <xmax>{x2}</xmax>\n            <ymax>{y2}</ymax>\n"
            "        </bndbox>\n    </object>\n"
        )
    parts.append("</annotation>")
    return "".join(parts)


@pytest.fixture
def kaggle_dir(tmp_path: Path) -> Path:
    """Three images in Kaggle's layout: images/maksssksksss<N>.png beside annotations/maksssksksss<N>.xml."""
    root = tmp_path / "face-mask-detection"
    files = {
        "maksssksksss0": (128, 92, [(WITHOUT, 79, 45, 109, 82), (WITH, 5, 3, 40, 30)]),
        "maksssksksss1": (100, 80, [(INCORRECT, 10, 10, 50, 60)]),
        "maksssksksss2": (64, 64, [(WITH, 0, 0, 64, 64)]),
    }
    for seed, (stem, (width, height, objects)) in enumerate(files.items()):
        write_image(root / "images" / f"{stem}.png", width, height, seed)
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"{stem}.xml").write_text(kaggle_xml(f"{stem}.png", width, height, objects))
    return root


def test_the_kaggle_face_mask_layout_is_read(kaggle_dir: Path):
    ds = read_voc(kaggle_dir)

    assert [i.image.name for i in ds.images] == [f"maksssksksss{n}.png" for n in range(3)]
    first = ds.images[0]
    assert (first.width, first.height, first.split) == (128, 92, None)
    assert [(b.class_name, b.x1, b.y1, b.x2, b.y2) for b in first.boxes] == [
        (WITHOUT, 79.0, 45.0, 109.0, 82.0),
        (WITH, 5.0, 3.0, 40.0, 30.0),
    ]
    assert {b.class_name for i in ds.images for b in i.boxes} == {WITH, WITHOUT, INCORRECT}


def test_write_then_read_keeps_boxes_splits_and_class_order(sample_set: AnnotationSet, tmp_path: Path):
    out = write_voc(sample_set, tmp_path / "voc")

    back = read_voc(out)

    assert_same_boxes(sample_set, back)
    assert splits_by_name(back) == splits_by_name(sample_set)
    assert (out / "classes.txt").read_text().split() == list(sample_set.class_names)
    assert (out / "ImageSets" / "Main" / "test.txt").read_text() == "face_c\n"


def test_written_coordinates_are_whole_pixels_within_half_a_pixel(sample_set: AnnotationSet, tmp_path: Path):
    out = write_voc(sample_set, tmp_path / "voc")

    xml = (out / "annotations" / "face_a.xml").read_text()

    assert "<xmax>30</xmax>" in xml or "<xmax>31</xmax>" in xml
    assert "<ymax>40</ymax>" in xml


def test_classic_voc_layout_with_split_lists(tmp_path: Path):
    root = tmp_path / "VOC"
    write_image(root / "JPEGImages" / "a.jpg", 50, 40)
    (root / "Annotations").mkdir(parents=True)
    (root / "Annotations" / "a.xml").write_text(kaggle_xml("a.jpg", 50, 40, [(WITH, 1, 2, 30, 35)]))
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "val.txt").write_text("a\n")

    [image] = read_voc(root).images

    assert (image.image.name, image.split, len(image.boxes)) == ("a.jpg", "val", 1)


def test_a_missing_size_is_read_from_the_image(kaggle_dir: Path):
    xml = kaggle_dir / "annotations" / "maksssksksss1.xml"
    xml.write_text(xml.read_text().replace("<width>100</width>", "<width>0</width>"))

    image = read_voc(kaggle_dir).images[1]

    assert (image.width, image.height) == (100, 80)


def test_a_stale_filename_falls_back_to_the_image_named_like_the_xml(kaggle_dir: Path):
    xml = kaggle_dir / "annotations" / "maksssksksss1.xml"
    xml.write_text(xml.read_text().replace("maksssksksss1.png</filename>", "old_name.png</filename>"))

    assert read_voc(kaggle_dir).images[1].image.name == "maksssksksss1.png"


def test_other_class_names_from_classes_txt_or_the_caller(kaggle_dir: Path):
    xml = kaggle_dir / "annotations" / "maksssksksss2.xml"
    xml.write_text(xml.read_text().replace(f"<name>{WITH}</name>", "<name>helmet</name>"))
    names = (WITH, WITHOUT, INCORRECT, "helmet")

    assert read_voc(kaggle_dir, class_names=names).class_names == names
    (kaggle_dir / "classes.txt").write_text("\n".join(names) + "\n")
    assert read_voc(kaggle_dir).images[2].boxes[0].class_name == "helmet"


BROKEN = [
    ("", "file is empty"),
    ("<annotation><filename>x.png</filename>", "malformed XML"),
    ("<notvoc/>", "expected <annotation>"),
    (kaggle_xml("maksssksksss1.png", 100, 80, [("mask", 10, 10, 50, 60)]), "unknown class 'mask'"),
    (kaggle_xml("maksssksksss1.png", 100, 80, [(WITH, 10, 10, 10, 60)]), "zero area"),
    (kaggle_xml("maksssksksss1.png", 100, 80, [(WITH, 10, 10, 150, 60)]), "outside the 100x80 image"),
    (kaggle_xml("maksssksksss1.png", 100, 80, [(WITH, 10, 10, 101, 60)]), None),  # 1 px: clipped
    (
        kaggle_xml("maksssksksss1.png", 100, 80, [(WITH, 1, 1, 5, 5)]).replace("<xmin>1<", "<xmin>a<"),
        "<xmin> is 'a'",
    ),
    (
        kaggle_xml("maksssksksss1.png", 100, 80, [(WITH, 1, 1, 5, 5)]).replace("<bndbox>", "<box>")
        .replace("</bndbox>", "</box>"),
        "has no <bndbox>",
    ),
]


@pytest.mark.parametrize(("text", "problem"), BROKEN)
def test_a_broken_annotation_file_is_named_or_skipped(kaggle_dir: Path, text: str, problem: str | None):
    xml = kaggle_dir / "annotations" / "maksssksksss1.xml"
    xml.write_text(text)

    if problem is None:
        assert read_voc(kaggle_dir).images[1].boxes[0].x2 == 100.0
        return
    with pytest.raises(DatasetFormatError, match=problem) as err:
        read_voc(kaggle_dir)
    assert err.value.path == xml

    validation = ValidationLog(skip_invalid=True)
    ds = read_voc(kaggle_dir, validation=validation)
    assert [i.image.name for i in ds.images] == ["maksssksksss0.png", "maksssksksss2.png"]
    assert [(s.path, problem in s.reason) for s in validation.skipped] == [(xml, True)]


def test_a_missing_image_is_named(kaggle_dir: Path):
    (kaggle_dir / "images" / "maksssksksss0.png").unlink()

    with pytest.raises(DatasetFormatError, match=r"image maksssksksss0\.png is missing") as err:
        read_voc(kaggle_dir)
    assert err.value.path.name == "maksssksksss0.xml"


def test_malformed_xml_reports_the_line(kaggle_dir: Path):
    xml = kaggle_dir / "annotations" / "maksssksksss0.xml"
    xml.write_text("<annotation>\n  <size>\n</annotation>\n")

    with pytest.raises(DatasetFormatError) as err:
        read_voc(kaggle_dir)
    assert err.value.line == 3


def test_a_folder_without_annotations_is_refused(tmp_path: Path):
    (tmp_path / "annotations").mkdir()
    with pytest.raises(DatasetFormatError, match=r"no \.xml annotation files"):
        read_voc(tmp_path)
