"""The object-store protocol every backend follows (``LocalStore``, ``S3Store`` and test doubles)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ObjectStore(Protocol):
    """A flat key -> bytes store with sorted, paged listing.

    ``list_keys`` returns keys starting with ``prefix`` in lexicographic order, strictly after
    ``start_after`` when given, at most ``limit`` of them: a caller pages by passing the last
    key it saw. ``list_folders`` is the one-level (delimiter) listing, paged the same way by the
    last folder seen. ``put_bytes`` is atomic: a reader sees the old object or the new one, never
    a partial write. Keys are relative to the store's own ``prefix`` setting, if any.
    """

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        """Sorted keys under ``prefix`` after ``start_after``, at most ``limit``."""

    def list_folders(
        self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000
    ) -> list[str]:
        """The folders directly under ``prefix`` (which is ``""`` or ends in ``/``): each distinct
        ``prefix + name + "/"`` that some key starts with, sorted, after ``start_after``, at most
        ``limit``. S3's ``Delimiter='/'`` listing; a folder with no key in it is not listed."""

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


def list_folder_names(store: ObjectStore, prefix: str, page_size: int = 1000) -> list[str]:
    """The names of the folders directly under ``prefix`` (``prefix`` ends in ``/``), page by page:
    one delimiter listing, a request per ``page_size`` folders (a short page is the last)."""
    names: list[str] = []
    after: str | None = None
    while page := store.list_folders(prefix, start_after=after, limit=page_size):
        names.extend(folder[len(prefix) : -1] for folder in page)
        if len(page) < page_size:
            break
        after = page[-1]
    return names
