"""Image files inside a dataset: which files count as images, their size, and placing them in an output.

Sizes come from the file header (Pillow reads it without decoding the pixels), turned
by the EXIF orientation the same way ultralytics and browsers turn the image, so box
coordinates mean the same thing in every tool.

Suffixes are matched in any case (``x.PNG`` is an image, and a reference to ``x.png``
finds it), as cameras and Windows tools write them upper case and ultralytics lower-cases
suffixes before matching too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePath

from PIL import Image, UnidentifiedImageError

from maskops_assets.datasets.annotations import DatasetFormatError, ImageAnnotation

# The suffixes ultralytics trains on (its IMG_FORMATS), lower case.
IMAGE_SUFFIXES = frozenset(
    {".bmp", ".dng", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm", ".heic"}
)

_EXIF_ORIENTATION = 0x0112
# Orientations 5-8 turn the image by 90 degrees, so width and height swap.
_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) as displayed, or ``DatasetFormatError`` if the file is missing or not an image."""
    if not path.is_file():
        raise DatasetFormatError(path, "image file is missing")
    try:
        with Image.open(path) as im:
            width, height = im.size
            orientation = im.getexif().get(_EXIF_ORIENTATION)
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetFormatError(path, f"not a readable image ({exc})") from None
    except ImportError:
        # Once ultralytics is imported, Image.open answers a file Pillow cannot identify by
        # importing a HEIF plugin (ultralytics/utils/patches.py), which fails where it is not
        # installed: the file is still just not an image Pillow can read.
        raise DatasetFormatError(path, "not a readable image (Pillow cannot identify it)") from None
    if orientation in _ROTATED_ORIENTATIONS:
        return height, width
    return width, height


class ImageFolder:
    """The image files directly in one folder, found by name with the suffix in any case.

    The folder is listed once, so looking up every annotation's image stays linear in
    the size of the dataset.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._by_key: dict[str, Path] = {}
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if is_image_file(path):
                    # On a case-sensitive disk x.png and x.PNG may both exist; the exact name wins in find().
                    self._by_key.setdefault(_suffix_key(path.name), path)

    def find(self, name: str) -> Path | None:
        """The file ``name`` here: the exact name first, else the name with its suffix in another case."""
        exact = self.folder / name
        if exact.is_file():
            return exact
        return self._by_key.get(_suffix_key(name))

    def find_stem(self, stem: str) -> Path | None:
        """An image named ``stem`` plus any image suffix, in any case (the first by suffix if several)."""
        for suffix in sorted(IMAGE_SUFFIXES):
            found = self._by_key.get(stem + suffix)
            if found is not None:
                return found
        return None


def _suffix_key(name: str) -> str:
    path = PurePath(name)
    return str(path.with_suffix(path.suffix.lower())) if path.suffix else name


def output_names(images: Sequence[ImageAnnotation]) -> list[str]:
    """A file name per image, its stem unique within its split folder of an output dataset.

    Images from different source folders can share a name (two cameras both write
    ``000001.jpg``), and label files are named by stem, so ``a.jpg`` and ``a.png`` clash
    too; the second and later get a short hash of their source path added, which stays
    the same from run to run.
    """
    names: list[str] = []
    taken: set[tuple[str | None, str]] = set()
    for image in images:
        name = image.image.name
        key = (image.split, image.image.stem.lower())
        if key in taken:
            digest = hashlib.sha1(str(image.image).encode()).hexdigest()[:8]
            name = f"{image.image.stem}_{digest}{image.image.suffix}"
            key = (image.split, Path(name).stem.lower())
        taken.add(key)
        names.append(name)
    return names


def place_image(src: Path, dst: Path, *, copy: bool) -> None:
    """Put ``src`` at ``dst``: a copy, or a symlink when ``copy`` is false.

    Nothing happens when ``dst`` already is ``src`` (writing labels into the dataset the
    images came from).
    """
    if not src.is_file():
        raise DatasetFormatError(src, "image file is missing")
    if dst.exists() and dst.resolve() == src.resolve():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if copy:
        shutil.copy2(src, dst)
    else:
        os.symlink(src.resolve(), dst)
