"""Finding and loading the files a dataset is described in: a folder's JSON file, JSON, ``classes.txt``.

Shared by the formats so that an empty or malformed file reads the same everywhere:
``DatasetFormatError`` with the file, the line where known, and what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

from maskops_assets.datasets.annotations import DatasetFormatError

CLASSES_FILE = "classes.txt"


def find_json(src: Path, default_name: str) -> Path:
    """``src`` if it is a file, else ``default_name`` or the only ``*.json`` in the folder ``src``."""
    if src.is_file():
        return src
    if not src.is_dir():
        raise DatasetFormatError(src, "not found")
    if (src / default_name).is_file():
        return src / default_name
    candidates = sorted(src.glob("*.json"))
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        problem = f"expected {default_name} or exactly one .json file here, found {found}"
        raise DatasetFormatError(src, problem)
    return candidates[0]


def load_json(path: Path) -> object:
    """Parsed JSON, or ``DatasetFormatError`` for an empty or malformed file (with the line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetFormatError(path, "not UTF-8 text; expected JSON") from None
    if not text.strip():
        raise DatasetFormatError(path, "file is empty; expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"malformed JSON ({exc.msg}, column {exc.colno})"
        raise DatasetFormatError(path, problem, line=exc.lineno) from None


def read_classes_file(path: Path) -> tuple[str, ...] | None:
    """Class names, one per line in id order, from ``path``; None when there is no such file."""
    if not path.is_file():
        return None
    names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    if not names:
        raise DatasetFormatError(path, "file is empty; list one class name per line or delete it")
    if len(set(names)) != len(names):
        raise DatasetFormatError(path, "a class name is listed twice")
    return names


def write_classes_file(path: Path, class_names: tuple[str, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name}\n" for name in class_names))
