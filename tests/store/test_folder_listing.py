"""``list_folders``: the one-level (``Delimiter='/'``) listing, the same on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskops_store import LocalStore, ObjectStore, S3Store

KEYS = [
    "samples/cam-a/2026-11-29/x.json",
    "samples/cam-a/2026-11-30/y.json",
    "samples/cam-b/2026-11-30/z.json",
    "samples/cam-b0/2026-11-30/w.json",  # sorts between "cam-b/" keys and "cam-c/" only as a folder
    "samples/cam-c/2026-11-30/v.json",
    "samples/stray.txt",  # a key directly under the prefix is no folder
    "telemetry/cam-a/2026-11-30/t.parquet",
]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        made: ObjectStore = LocalStore(tmp_path / "store", "site-a")
    else:
        made = S3Store(request.getfixturevalue("s3_bucket"), "site-a", request.getfixturevalue("s3_endpoint"))
    for key in KEYS:
        made.put_bytes(key, b"x")
    return made


def test_folders_are_sorted_distinct_and_one_level_deep(store: ObjectStore) -> None:
    assert store.list_folders() == ["samples/", "telemetry/"]
    assert store.list_folders("samples/") == [
        "samples/cam-a/",
        "samples/cam-b/",
        "samples/cam-b0/",
        "samples/cam-c/",
    ]
    assert store.list_folders("samples/cam-a/") == ["samples/cam-a/2026-11-29/", "samples/cam-a/2026-11-30/"]
    assert store.list_folders("samples/cam-a/2026-11-30/") == []  # only keys there
    assert store.list_folders("nothing/") == []


def test_folders_page_by_the_last_folder_seen(store: ObjectStore) -> None:
    pages: list[list[str]] = []
    after: str | None = None
    while page := store.list_folders("samples/", start_after=after, limit=1):
        pages.append(page)
        after = page[-1]
    # "samples/cam-b/" as start_after skips that whole folder, not just the key named so
    assert pages == [["samples/cam-a/"], ["samples/cam-b/"], ["samples/cam-b0/"], ["samples/cam-c/"]]
    assert store.list_folders("samples/", start_after="samples/cam-b", limit=2) == [
        "samples/cam-b/",
        "samples/cam-b0/",
    ]


def test_a_folder_needs_a_key_in_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("samples/cam-a/2026-11-30/a.json", b"x")
    (tmp_path / "samples" / "cam-empty" / "2026-11-30").mkdir(parents=True)
    assert store.list_folders("samples/") == ["samples/cam-a/"]


def test_a_folder_prefix_must_end_in_a_slash(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="end in '/'"):
        store.list_folders("samples")
    with pytest.raises(ValueError, match="limit"):
        store.list_folders("samples/", limit=0)
