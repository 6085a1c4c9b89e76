"""The embedded object store: keys are files under one root directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from maskops_assets.store.base import ObjectNotFoundError, check_key

# Files the atomic writer leaves behind only while a write is in flight.
_TMP_SUFFIX = ".maskops-tmp"


class LocalObjectStore:
    """An ``ObjectStore`` on a directory; the same layout the edge agent writes locally."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        if not self.root.is_dir():
            return []
        # Walk only the deepest directory the prefix names completely, not the whole store.
        base_dir = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base_dir if base_dir else self.root
        if not start.is_dir():
            return []
        keys = []
        for dirpath, _dirnames, filenames in os.walk(start):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.endswith(_TMP_SUFFIX):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    keys.append(key)
        keys.sort()
        return keys[:limit]

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFoundError(str(self.root), key) from None

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        # content_type only matters to HTTP-served stores; a file has none
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"
