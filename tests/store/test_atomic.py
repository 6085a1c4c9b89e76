"""write_atomic: whole or nothing, synced (file and directory), and nothing left behind on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from maskops_store import TMP_SUFFIX, LocalStore, StoreError, write_atomic


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_writes_creates_parents_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "model.onnx"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert _files(tmp_path) == ["a/b/model.onnx"]


def test_syncs_the_file_and_then_its_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_atomic(tmp_path / "x.json", b"{}")
    assert synced == ["file", "dir"]


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "releases" / "manifest.json"
    write_atomic(target, b"old")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    data: object = b"new"
    if failing == "replace":
        monkeypatch.setattr(os, "replace", boom)
    elif failing == "fsync":
        monkeypatch.setattr(os, "fsync", boom)
    else:
        data = "not bytes"  # the write itself raises (TypeError) after the temp file exists
    with pytest.raises((OSError, TypeError)):
        write_atomic(target, data)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert _files(tmp_path) == ["releases/manifest.json"]


def test_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a KeyboardInterrupt (BaseException) between write and rename removes the temp file."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "new.bin", b"x" * 10_000)
    assert _files(tmp_path) == []


def test_local_store_failure_is_a_store_error_naming_key_and_root(tmp_path: Path) -> None:
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store directory should be")
    with pytest.raises(StoreError, match=r"releases/manifest\.json") as info:
        LocalStore(blocker).put_bytes("releases/manifest.json", b"{}")
    assert info.value.key == "releases/manifest.json" and str(blocker) in str(info.value)


def test_local_listing_skips_writes_in_flight(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("samples/c/d/a.jpg", b"x")
    (tmp_path / "samples" / "c" / "d" / f".b.jpg.1234{TMP_SUFFIX}").write_bytes(b"half")
    assert store.list_keys() == ["samples/c/d/a.jpg"]
