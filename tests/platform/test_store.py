"""Both object-store backends behave the same: paged sorted listing, atomic writes, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskops_assets.store import (
    LocalObjectStore,
    ObjectNotFoundError,
    ObjectStore,
    ObjectStoreError,
    S3ObjectStore,
)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3ObjectStore(bucket, prefix="site-a", endpoint_url=endpoint)


def test_round_trip_and_overwrite(store: ObjectStore) -> None:
    store.put_bytes("samples/cam1/2026-11-23/a.json", b'{"v": 1}', content_type="application/json")
    assert store.exists("samples/cam1/2026-11-23/a.json")
    assert store.get_bytes("samples/cam1/2026-11-23/a.json") == b'{"v": 1}'
    store.put_bytes("samples/cam1/2026-11-23/a.json", b'{"v": 2}')
    assert store.get_bytes("samples/cam1/2026-11-23/a.json") == b'{"v": 2}'
    store.delete("samples/cam1/2026-11-23/a.json")
    assert not store.exists("samples/cam1/2026-11-23/a.json")
    store.delete("samples/cam1/2026-11-23/a.json")  # deleting twice is fine


def test_missing_key_names_the_key(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError, match=r"releases/manifest\.json"):
        store.get_bytes("releases/manifest.json")
    assert not store.exists("releases/manifest.json")


def test_listing_is_sorted_prefixed_and_paged(store: ObjectStore) -> None:
    keys = [f"samples/cam{c}/2026-11-2{d}/{i:03d}.jpg" for c in (2, 1) for d in (4, 3) for i in range(3)]
    for key in keys:
        store.put_bytes(key, b"x")
    store.put_bytes("telemetry/cam1/2026-11-23/b.parquet", b"t")

    everything = store.list_keys("samples/")
    assert everything == sorted(keys)
    assert store.list_keys("samples/cam1/") == sorted(k for k in keys if k.startswith("samples/cam1/"))
    cam1 = sorted(k for k in keys if k.startswith("samples/cam1/"))
    assert store.list_keys("samples/cam1/2026-11-2") == cam1
    assert store.list_keys("nothing/") == []

    pages, cursor = [], None
    while page := store.list_keys("samples/", start_after=cursor, limit=5):
        pages.append(page)
        cursor = page[-1]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [k for p in pages for k in p] == everything


@pytest.mark.parametrize("bad", ["", "/abs/key", "a/../b", "a//b", "a\\b", "./a", "a\x00b", "a/"])
def test_unsafe_keys_are_refused(store: ObjectStore, bad: str) -> None:
    with pytest.raises(ValueError, match="key"):
        store.put_bytes(bad, b"x")


def test_local_writes_leave_no_temp_files(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("models/v1/model.onnx", b"a" * 1000)
    store.put_bytes("models/v1/model.onnx", b"b" * 10)
    assert sorted(p.name for p in (tmp_path / "models" / "v1").iterdir()) == ["model.onnx"]
    assert store.list_keys() == ["models/v1/model.onnx"]


def test_local_prefix_is_a_folder_the_edge_writes_too(tmp_path: Path) -> None:
    from edge_agent.transport import LocalDirTransport

    LocalDirTransport(tmp_path, prefix="site-a").put("releases/manifest.json", b"e", "application/json")
    store = LocalObjectStore(tmp_path, prefix="site-a")
    assert store.list_keys() == ["releases/manifest.json"]
    assert store.get_bytes("releases/manifest.json") == b"e"
    assert store.root == tmp_path.resolve()
    assert LocalObjectStore(tmp_path).list_keys("site-a/") == ["site-a/releases/manifest.json"]


def test_one_error_family_on_both_sides() -> None:
    from edge_agent.transport import TransportError

    assert ObjectStoreError is TransportError
    assert issubclass(ObjectNotFoundError, ObjectStoreError) and issubclass(ObjectNotFoundError, KeyError)


def test_s3_prefix_isolates_tenants(s3_bucket: str, s3_endpoint: str) -> None:
    site_a = S3ObjectStore(s3_bucket, prefix="site-a/", endpoint_url=s3_endpoint)
    site_b = S3ObjectStore(s3_bucket, prefix="site-b", endpoint_url=s3_endpoint)
    site_a.put_bytes("releases/manifest.json", b"a")
    assert site_b.list_keys() == []
    assert site_a.list_keys() == ["releases/manifest.json"]
    assert "s3://" in site_a.describe()


def test_s3_unreachable_endpoint_names_the_store() -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    store = S3ObjectStore("b", endpoint_url="http://127.0.0.1:9", client=client)
    with pytest.raises(Exception, match=r"s3://b/"):
        store.list_keys("samples/")
