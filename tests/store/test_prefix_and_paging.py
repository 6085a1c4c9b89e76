"""The store's key prefix (both backends) and paged listing past S3's 1000 keys a request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from maskops_store import LocalStore, ObjectStore, S3Store, StoreConfig, open_store


def _stores(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path / "store", prefix)
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(bucket, prefix, request.getfixturevalue("s3_endpoint"))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path):
    """``backend(prefix)`` -> a store of this backend on one shared place (dir or bucket)."""
    return lambda prefix="": _stores(request, tmp_path, prefix)


def test_prefix_puts_every_key_under_it_and_lists_relative_keys(backend) -> None:
    site_a, site_b, whole = backend("site-a"), backend("/site-b/"), backend()
    site_a.put_bytes("samples/cam1/2026-11-23/a.json", b"a", content_type="application/json")
    site_b.put_bytes("samples/cam1/2026-11-23/b.json", b"b")
    assert site_a.list_keys("samples/") == ["samples/cam1/2026-11-23/a.json"]
    assert site_b.list_keys() == ["samples/cam1/2026-11-23/b.json"]
    assert whole.list_keys() == [
        "site-a/samples/cam1/2026-11-23/a.json",
        "site-b/samples/cam1/2026-11-23/b.json",
    ]
    assert whole.get_bytes("site-a/samples/cam1/2026-11-23/a.json") == b"a"
    assert site_a.exists("samples/cam1/2026-11-23/a.json")
    assert not site_b.exists("samples/cam1/2026-11-23/a.json")
    assert "site-a" in site_a.describe()
    site_a.delete("samples/cam1/2026-11-23/a.json")
    assert site_a.list_keys() == [] and whole.list_keys() == ["site-b/samples/cam1/2026-11-23/b.json"]


def test_local_prefix_is_a_directory_under_root(tmp_path: Path) -> None:
    LocalStore(tmp_path, "site-a/eu").put_bytes("releases/manifest.json", b"{}")
    assert (tmp_path / "site-a" / "eu" / "releases" / "manifest.json").read_bytes() == b"{}"


def test_s3_prefix_is_in_the_bucket_keys(s3_bucket: str, s3_endpoint: str, s3_client) -> None:
    S3Store(s3_bucket, "site-a", s3_endpoint).put_bytes("releases/manifest.json", b"{}")
    listed = s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["site-a/releases/manifest.json"]


def test_store_config_prefix_reaches_both_backends(tmp_path: Path, s3_bucket: str, s3_endpoint: str) -> None:
    local = open_store(StoreConfig(kind="local", root=tmp_path, prefix="site-a"))
    s3 = open_store(StoreConfig(kind="s3", bucket=s3_bucket, endpoint_url=s3_endpoint, prefix="site-a"))
    assert isinstance(local, LocalStore) and local.prefix == "site-a/"
    assert isinstance(s3, S3Store) and s3.prefix == "site-a/"
    assert StoreConfig(kind="s3", bucket="b", prefix="/site-a/").describe() == "s3://b/site-a/"
    assert StoreConfig(kind="local", root=tmp_path).describe() == f"local:{tmp_path}"


N_KEYS = 1005  # past the 1000 keys one ListObjectsV2 request returns


def _put_many(store: ObjectStore, keys: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:  # only to fill moto faster; order does not matter
        list(pool.map(lambda k: store.put_bytes(k, b"x"), keys))


@pytest.mark.slow
def test_paging_past_1000_keys_with_start_after(backend) -> None:
    store = backend("site-a")
    keys = [f"samples/cam1/2026-11-23/{i:05d}.jpg" for i in range(N_KEYS)]
    _put_many(store, keys)
    backend().put_bytes("samples/cam1/2026-11-23/00000.jpg", b"outside the prefix")
    backend("site-b").put_bytes("samples/cam1/2026-11-23/99999.jpg", b"another prefix")

    first = store.list_keys("samples/", limit=1000)
    assert first == keys[:1000]
    rest = store.list_keys("samples/", start_after=first[-1], limit=1000)
    assert rest == keys[1000:]
    assert store.list_keys("samples/", start_after=rest[-1]) == []
    # one call that needs two S3 requests (a continuation token), from a StartAfter in the middle
    assert store.list_keys("samples/", start_after=keys[2], limit=2000) == keys[3:]
    assert store.list_keys("samples/", limit=N_KEYS) == keys
    # the way the ingest sensor pages: small pages, the last key as the cursor
    seen, cursor = [], None
    while page := store.list_keys("samples/", start_after=cursor, limit=400):
        seen.extend(page)
        cursor = page[-1]
    assert seen == keys
