"""Image files: sizes as displayed (EXIF orientation), unreadable files, unique output names."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import write_image
from PIL import Image

from maskops_assets.datasets.annotations import DatasetFormatError, ImageAnnotation
from maskops_assets.datasets.images import image_size, output_names


def test_size_is_read_from_the_file(tmp_path: Path):
    assert image_size(write_image(tmp_path / "a.png", 40, 30)) == (40, 30)


def test_an_exif_rotated_photo_reports_its_displayed_size(tmp_path: Path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    Image.new("RGB", (40, 30)).save(path, exif=exif)

    assert image_size(path) == (30, 40)


def test_a_missing_or_unreadable_image_is_named(tmp_path: Path):
    with pytest.raises(DatasetFormatError, match="image file is missing"):
        image_size(tmp_path / "gone.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(DatasetFormatError, match="not a readable image") as err:
        image_size(broken)
    assert err.value.path == broken


def test_output_names_are_unique_per_split_by_stem_and_stable(tmp_path: Path):
    images = [
        ImageAnnotation(tmp_path / "cam1" / "0001.jpg", 8, 8, split="train"),
        ImageAnnotation(tmp_path / "cam2" / "0001.jpg", 8, 8, split="train"),
        ImageAnnotation(tmp_path / "cam2" / "0001.png", 8, 8, split="train"),
        ImageAnnotation(tmp_path / "cam3" / "0001.jpg", 8, 8, split="val"),
    ]

    names = output_names(images)

    assert names[0] == "0001.jpg" and names[3] == "0001.jpg"
    assert len({Path(n).stem for n in names[:3]}) == 3
    assert output_names(images) == names


def test_an_unreadable_image_is_named_after_ultralytics_patched_pillow(tmp_path: Path, monkeypatch):
    # ultralytics replaces Image.open with one that imports a HEIF plugin when Pillow cannot
    # identify a file; without the plugin installed, that import fails.
    def patched_open(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'pi_heif'")

    monkeypatch.setattr(Image, "open", patched_open)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")

    with pytest.raises(DatasetFormatError, match="not a readable image") as err:
        image_size(broken)
    assert err.value.path == broken
