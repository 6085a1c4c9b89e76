"""Transports: objects appear whole, keys are the contract's, a down store is a TransportError."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.transport import LocalDirTransport, S3Transport, StoreConfig, TransportError, build_transport
from maskops_contracts import MANIFEST_KEY, sample_key


def test_local_put_get_exists_and_no_temp_files_left(tmp_path: Path) -> None:
    transport = LocalDirTransport(tmp_path / "store")
    key = sample_key("cam-1", "2026-11-23", "abc123", "jpg")
    assert transport.get(key) is None
    assert not transport.exists(key)
    transport.put(key, b"first", "image/jpeg")
    transport.put(key, b"second", "image/jpeg")  # a retry overwrites, never duplicates
    assert transport.get(key) == b"second"
    assert transport.exists(key)
    files = [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert files == ["abc123.jpg"]


def test_local_refuses_keys_that_escape_the_root(tmp_path: Path) -> None:
    transport = LocalDirTransport(tmp_path / "store")
    # the platform's rule too, since both share maskops_store: no backslash, no NUL
    for key in ("../outside.txt", "/etc/passwd", "a//b", "a/./b", "a\\b", "a\x00b", ""):
        with pytest.raises(TransportError, match="unsafe object key"):
            transport.put(key, b"x", "text/plain")


def test_local_write_failure_names_the_key(tmp_path: Path) -> None:
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store directory should be")
    with pytest.raises(TransportError, match=r"releases/manifest\.json"):
        LocalDirTransport(blocker).put(MANIFEST_KEY, b"{}", "application/json")


def test_s3_round_trip_against_moto(moto_s3) -> None:
    transport = S3Transport(moto_s3.bucket, endpoint_url=moto_s3.endpoint_url)
    key = sample_key("cam-1", "2026-11-23", "abc123", "json")
    assert transport.get(key) is None
    assert transport.exists(key) is False
    transport.put(key, b'{"a": 1}', "application/json")
    assert transport.get(key) == b'{"a": 1}'
    assert transport.exists(key) is True
    assert moto_s3.keys() == [key]


def test_s3_unreachable_endpoint_raises_transport_error_quickly(
    monkeypatch: pytest.MonkeyPatch, unused_port
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    transport = S3Transport("bucket", endpoint_url=f"http://127.0.0.1:{unused_port()}", connect_timeout_s=0.5)
    with pytest.raises(TransportError, match="s3://bucket"):
        transport.put("samples/x.jpg", b"x", "image/jpeg")
    with pytest.raises(TransportError):
        transport.get(MANIFEST_KEY)


def test_store_config_needs_root_or_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"needs store\.root"):
        StoreConfig(kind="local")
    with pytest.raises(ValueError, match=r"needs store\.bucket"):
        StoreConfig(kind="s3")
    with pytest.raises(ValueError, match="both"):
        StoreConfig(kind="s3", bucket="b", access_key_id="only-half")
    assert isinstance(build_transport(StoreConfig(kind="local", root=tmp_path)), LocalDirTransport)
    with pytest.raises(ValueError, match="unsafe object key"):
        StoreConfig(kind="s3", bucket="b", prefix="../elsewhere")


def test_local_prefix_is_a_folder_under_root(tmp_path: Path) -> None:
    transport = build_transport(StoreConfig(kind="local", root=tmp_path, prefix="site-a"))
    transport.put(MANIFEST_KEY, b"{}", "application/json")
    assert (tmp_path / "site-a" / "releases" / "manifest.json").read_bytes() == b"{}"
    assert transport.get(MANIFEST_KEY) == b"{}" and "site-a" in transport.describe()


def test_s3_prefix_lands_where_the_platform_lists(moto_s3) -> None:
    """The edge's store.prefix and the platform's MASKOPS_STORE_PREFIX name one place."""
    from maskops_assets.store import S3ObjectStore

    cfg = StoreConfig(kind="s3", bucket=moto_s3.bucket, endpoint_url=moto_s3.endpoint_url, prefix="site-a")
    transport = build_transport(cfg)
    assert isinstance(transport, S3Transport)
    key = sample_key("cam-1", "2026-11-23", "abc123", "json")
    transport.put(key, b"{}", "application/json")
    assert moto_s3.keys() == [f"site-a/{key}"]
    assert transport.get(key) == b"{}" and transport.exists(key)
    platform = S3ObjectStore(moto_s3.bucket, "site-a", moto_s3.endpoint_url)
    assert platform.list_keys("samples/") == [key]
