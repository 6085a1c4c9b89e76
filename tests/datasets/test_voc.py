"""Pascal VOC reader and writer: the Kaggle face-mask layout, classic VOC, and broken XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import (
    INCORRECT,
    WITH,
    WITHOUT,
    assert_same_boxes,
    kaggle_xml,
    splits_by_name,
    write_image,
    write_kaggle_set,
)

from maskops_assets.datasets.annotations import AnnotationSet, DatasetFormatError
from maskops_assets.datasets.validation import ValidationLog
from maskops_assets.datasets.voc import read_voc, write_voc


@pytest.fixture
def kaggle_dir(tmp_path: Path) -> Path:
    """Three images in Kaggle's layout: images/maksssksksss<N>.png beside annotations/maksssksksss<N>.xml."""
    files = {
        "maksssksksss0": (128, 92, [(WITHOUT, 79, 45, 109, 82), (WITH, 5, 3, 40, 30)]),
        "maksssksksss1": (100, 80, [(INCORRECT, 10, 10, 50, 60)]),
        "maksssksksss2": (64, 64, [(WITH, 0, 0, 64, 64)]),
    }
    return write_kaggle_set(tmp_path / "face-mask-detection", files)


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


# Issue 8: a held-out VOC set in the Kaggle layout.


def test_a_size_that_disagrees_with_the_image_is_a_warning_and_the_image_size_wins(tmp_path: Path):
    # The case: <size> says 400x226 on an image that is 267x400.
    root = write_kaggle_set(tmp_path / "voc", {"portrait": (267, 400, [(WITH, 10, 20, 200, 210)])})
    xml = root / "annotations" / "portrait.xml"
    xml.write_text(kaggle_xml("portrait.png", 400, 226, [(WITH, 10, 20, 200, 210)]))
    validation = ValidationLog()

    [image] = read_voc(root, validation=validation).images

    assert (image.width, image.height) == (267, 400)
    [warning] = validation.warnings
    assert warning.path == xml
    assert "400x226" in warning.message
    assert "267x400" in warning.message
    assert str(root / "images" / "portrait.png") in warning.message
    assert validation.skipped == []


def test_a_matching_or_missing_size_gives_no_warning(kaggle_dir: Path):
    xml = kaggle_dir / "annotations" / "maksssksksss1.xml"
    xml.write_text(xml.read_text().replace("<width>100</width>", "<width>0</width>"))
    validation = ValidationLog()

    read_voc(kaggle_dir, validation=validation)

    assert validation.warnings == []


def test_a_box_outside_the_real_image_names_the_size_mismatch(tmp_path: Path):
    # Boxes drawn on a 400x226 copy do not fit the 267x400 file: an error, not a silent clip.
    root = write_kaggle_set(tmp_path / "voc", {"portrait": (267, 400, [])})
    xml = root / "annotations" / "portrait.xml"
    xml.write_text(kaggle_xml("portrait.png", 400, 226, [(WITH, 300, 20, 390, 210)]))

    with pytest.raises(DatasetFormatError, match=r"outside the 267x400 image.*<size> says 400x226") as err:
        read_voc(root)
    assert err.value.path == xml


def test_an_unreadable_image_is_an_error_naming_the_image(kaggle_dir: Path):
    image = kaggle_dir / "images" / "maksssksksss1.png"
    image.write_bytes(b"not a png at all")

    with pytest.raises(DatasetFormatError, match="not a readable image") as err:
        read_voc(kaggle_dir)
    assert err.value.path == image

    validation = ValidationLog(skip_invalid=True)
    assert len(read_voc(kaggle_dir, validation=validation).images) == 2
    assert [s.path for s in validation.skipped] == [image]


def test_suffixes_match_in_any_case(kaggle_dir: Path):
    images, annotations = kaggle_dir / "images", kaggle_dir / "annotations"
    # x.PNG on disk, <filename>x.png</filename> in the XML
    (images / "maksssksksss0.png").rename(images / "maksssksksss0.PNG")
    # an upper-case annotation suffix, and an image found by the XML's stem (stale <filename>)
    (annotations / "maksssksksss1.xml").rename(annotations / "maksssksksss1.XML")
    (images / "maksssksksss1.png").rename(images / "maksssksksss1.Png")
    xml = annotations / "maksssksksss1.XML"
    xml.write_text(xml.read_text().replace("maksssksksss1.png</filename>", "old.jpg</filename>"))
    # <filename> in upper case, the file in lower case
    xml2 = annotations / "maksssksksss2.xml"
    xml2.write_text(xml2.read_text().replace("maksssksksss2.png</filename>", "maksssksksss2.PNG</filename>"))

    ds = read_voc(kaggle_dir)

    names = ["maksssksksss0.PNG", "maksssksksss1.Png", "maksssksksss2.png"]
    assert [i.image.name for i in ds.images] == names
    assert [len(i.boxes) for i in ds.images] == [2, 1, 1]


def test_the_exact_file_name_wins_over_another_case(kaggle_dir: Path):
    images = kaggle_dir / "images"
    write_image(images / "maksssksksss0.PNG", 128, 92, seed=9)

    assert read_voc(kaggle_dir).images[0].image.name == "maksssksksss0.png"


def test_difficult_and_truncated_are_read_and_written_back(tmp_path: Path):
    objects = [(WITH, 1, 2, 30, 35, 1, 0), (WITHOUT, 31, 2, 49, 39, 0, 1), (INCORRECT, 2, 3, 10, 12)]
    root = write_kaggle_set(tmp_path / "voc", {"a": (50, 40, objects)})

    [image] = read_voc(root).images

    assert [(b.difficult, b.truncated) for b in image.boxes] == [(True, False), (False, True), (False, False)]
    out = write_voc(read_voc(root), tmp_path / "out")
    xml = (out / "annotations" / "a.xml").read_text()
    assert xml.count("<difficult>1</difficult>") == 1
    assert xml.count("<truncated>1</truncated>") == 1
    [back] = read_voc(out).images
    assert back.boxes == image.boxes


def test_a_flag_clipped_box_keeps_its_flags(tmp_path: Path):
    root = write_kaggle_set(tmp_path / "voc", {"a": (50, 40, [(WITH, 1, 2, 51, 35, 1, 1)])})

    [box] = read_voc(root).images[0].boxes

    assert (box.x2, box.difficult, box.truncated) == (50.0, True, True)


def test_a_flag_that_is_not_0_or_1_is_named(kaggle_dir: Path):
    xml = kaggle_dir / "annotations" / "maksssksksss1.xml"
    xml.write_text(xml.read_text().replace("<difficult>0</difficult>", "<difficult>maybe</difficult>"))

    expected = r"object #1 \(mask_weared_incorrect\) <difficult> is 'maybe'; expected 0 or 1"
    with pytest.raises(DatasetFormatError, match=expected):
        read_voc(kaggle_dir)
