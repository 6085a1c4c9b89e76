"""One key rule for every backend: the union of what the edge and the platform refused before."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskops_store import (
    LocalStore,
    S3Store,
    StoreConfig,
    StoreError,
    UnsafeKeyError,
    check_key,
    check_list_prefix,
    normalize_prefix,
)

BAD_KEYS = [
    "",
    "/etc/passwd",  # absolute
    "a\\b",  # a backslash: a separator on Windows, an escape on a local root
    "..\\outside",
    "a\x00b",  # NUL
    "../outside.txt",
    "a/../b",
    "..",
    "a//b",  # empty segment
    "a/",  # trailing slash: an empty last segment
    "a/./b",
    "./a",
]
GOOD_KEYS = [
    "samples/cam-1/2026-11-23/abc123.jpg",
    "releases/manifest.json",
    "models/m-v1/model.onnx",
    "a..b/c",  # dots inside a name are fine
    "telemetry/cam 1/x.parquet",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_refused_as_value_and_store_errors(key: str) -> None:
    with pytest.raises(UnsafeKeyError, match="unsafe object key") as info:
        check_key(key)
    assert isinstance(info.value, ValueError) and isinstance(info.value, StoreError)


@pytest.mark.parametrize("key", [None, b"samples/a.jpg", 3])
def test_non_string_keys_are_refused(key: object) -> None:
    with pytest.raises(UnsafeKeyError, match="non-empty string"):
        check_key(key)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_contract_keys_pass_unchanged(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    ("prefix", "normal"),
    [("", ""), (None, ""), ("/", ""), ("site-a", "site-a/"), ("/site-a/", "site-a/"), ("a/b", "a/b/")],
)
def test_store_prefix_is_normalised(prefix: str | None, normal: str) -> None:
    assert normalize_prefix(prefix) == normal


@pytest.mark.parametrize("prefix", ["../x", "a//b", "a\\b", "x/./y", "a\x00"])
def test_unsafe_store_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(UnsafeKeyError):
        normalize_prefix(prefix)
    with pytest.raises(ValueError, match="unsafe object key"):
        StoreConfig(kind="local", root=Path("/tmp/x"), prefix=prefix)


@pytest.mark.parametrize("prefix", ["", "samples/", "samples/cam1/2026-11-2", "samples"])
def test_listing_prefixes(prefix: str) -> None:
    assert check_list_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["../", "/samples/", "a//", "a\\"])
def test_unsafe_listing_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(UnsafeKeyError):
        check_list_prefix(prefix)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return S3Store(request.getfixturevalue("s3_bucket"), endpoint_url=request.getfixturevalue("s3_endpoint"))


@pytest.mark.parametrize("key", BAD_KEYS)
def test_every_backend_refuses_the_same_keys_before_touching_the_store(store, key: str) -> None:
    for call in (
        lambda: store.put_bytes(key, b"x"),
        lambda: store.get_bytes(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(UnsafeKeyError):
            call()
    assert store.list_keys() == []
