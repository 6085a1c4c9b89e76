"""The object-store protocol every backend follows, its errors and key rules."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class ObjectStoreError(RuntimeError):
    """The store could not do what was asked; the message names the store and the key."""


class ObjectNotFoundError(ObjectStoreError, KeyError):
    """A key that does not exist was read."""

    def __init__(self, store: str, key: str) -> None:
        self.store = store
        self.key = key
        super().__init__(f"{store}: no object at key {key!r}")

    def __str__(self) -> str:
        # KeyError would otherwise print the repr of the first argument only
        return self.args[0]


def check_key(key: str) -> str:
    """Return ``key`` if it is a relative, normalised object key; raise ValueError otherwise.

    Keys become file paths in the local backend, so anything that could escape the
    root (``..``, absolute paths, backslashes) is refused in every backend alike.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"object key must be a non-empty string, got {key!r}")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"object key {key!r} must be relative and use '/' separators")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"object key {key!r} must not contain empty, '.' or '..' segments")
    return key


@runtime_checkable
class ObjectStore(Protocol):
    """A flat key -> bytes store with sorted, paged listing.

    ``list_keys`` returns keys starting with ``prefix`` in lexicographic order, strictly after
    ``start_after`` when given, at most ``limit`` of them: a caller pages by passing the last
    key it saw. ``put_bytes`` is atomic: a reader sees the old object or the new one, never
    a partial write.
    """

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        """Sorted keys under ``prefix`` after ``start_after``, at most ``limit``."""

    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; ``ObjectNotFoundError`` when there is none."""

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write (or replace) the object atomically."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    def describe(self) -> str:
        """Where this store is, for log lines and metadata (a path or an s3:// URL)."""
