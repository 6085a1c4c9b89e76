"""Object keys: one rule for every backend, and the prefix a store puts in front of them.

Keys become file paths in the local backend, so anything that could escape its root is refused
everywhere alike (a key S3 accepts and a directory cannot hold would make the two drift).
"""

from __future__ import annotations

from maskops_store.errors import UnsafeKeyError


def check_key(key: str) -> str:
    """Return ``key`` if it is a relative, normalised object key; raise ``UnsafeKeyError`` otherwise.

    Refused: a non-string or empty key, a leading ``/``, a backslash, a NUL, and empty, ``.`` or
    ``..`` segments (so also a trailing ``/`` and ``a//b``). ``UnsafeKeyError`` is a ``ValueError``
    and a ``StoreError``.
    """
    if not isinstance(key, str) or not key:
        raise UnsafeKeyError(key, "an object key must be a non-empty string")
    if key.startswith("/"):
        raise UnsafeKeyError(key, "an object key must be relative")
    if "\\" in key or "\x00" in key:
        raise UnsafeKeyError(key, "an object key must use '/' separators and no NUL")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise UnsafeKeyError(key, "an object key must not contain empty, '.' or '..' segments")
    return key


def check_list_prefix(prefix: str) -> str:
    """Return a listing prefix if it is empty or a key (optionally ending in ``/``, or cut mid-segment)."""
    if prefix == "":
        return prefix
    check_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def check_folder_prefix(prefix: str) -> str:
    """Return a folder listing's prefix if it is empty or a key ending in ``/``."""
    if prefix and not prefix.endswith("/"):
        raise ValueError(f"a folder listing's prefix must be empty or end in '/', got {prefix!r}")
    return check_list_prefix(prefix)


def normalize_prefix(prefix: str | None) -> str:
    """A store's key prefix as ``"a/b/"`` (or ``""``): surrounding slashes dropped, then checked."""
    stripped = (prefix or "").strip("/")
    if not stripped:
        return ""
    check_key(stripped)
    return stripped + "/"
