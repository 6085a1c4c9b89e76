"""DatasetRepo commits, tags, pushes to a local remote and checks out older versions intact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from maskops_assets.versioning import DatasetRepo, DatasetRepoError


def test_versions_push_and_checkout_of_an_older_version(tmp_path: Path) -> None:
    repo = DatasetRepo(tmp_path / "repo", str(tmp_path / "remote"))
    repo.ensure_initialised()
    repo.ensure_initialised()  # idempotent
    data = repo.root / "dataset"
    data.mkdir()
    (data / "a.txt").write_text("first")
    v1 = repo.commit("dataset", "first")
    (data / "a.txt").write_text("second")
    (data / "b.txt").write_text("new")
    v2 = repo.commit("dataset", "second")
    assert (v1.tag, v2.tag) == ("dataset-v1", "dataset-v2")
    assert v1.dvc_md5 != v2.dvc_md5 and v1.dvc_md5.endswith(".dir")
    assert repo.commit("dataset", "unchanged") == v2  # content, not calls, makes a version
    assert repo.versions() == [v1, v2]

    repo.push()
    assert any((tmp_path / "remote").rglob("*"))
    # the remote alone restores an old version: drop the local cache first
    shutil.rmtree(repo.root / ".dvc" / "cache")
    old = repo.checkout("dataset-v1")
    assert (old / "dataset" / "a.txt").read_text() == "first"
    assert not (old / "dataset" / "b.txt").exists()
    assert (data / "a.txt").read_text() == "second"  # the working copy is untouched


def test_checkout_of_unknown_version_lists_the_known_ones(tmp_path: Path) -> None:
    repo = DatasetRepo(tmp_path / "repo", str(tmp_path / "remote"))
    repo.ensure_initialised()
    with pytest.raises(DatasetRepoError, match="none yet"):
        repo.checkout("dataset-v3")
    with pytest.raises(DatasetRepoError, match="not a dataset version"):
        repo.checkout("main")
    with pytest.raises(DatasetRepoError, match="not a directory"):
        repo.commit("missing", "nothing there")


def test_a_commit_interrupted_before_its_tag_is_tagged_on_retry(tmp_path: Path) -> None:
    """A crash between ``git commit`` and ``git tag`` leaves HEAD ahead of the latest version;
    the retry must tag the new data, not hand back the old version."""
    repo = DatasetRepo(tmp_path / "repo", str(tmp_path / "remote"))
    repo.ensure_initialised()
    data = repo.root / "dataset"
    data.mkdir()
    (data / "a.txt").write_text("first")
    v1 = repo.commit("dataset", "first")
    (data / "a.txt").write_text("second")
    repo._dvc("add", "--quiet", "dataset")  # what commit() does, up to the crash
    repo._git("add", "dataset.dvc")
    repo._git("commit", "--quiet", "-m", "second")
    v2 = repo.commit("dataset", "second (retry)")
    assert v2.tag == "dataset-v2" and v2.dvc_md5 != v1.dvc_md5
    assert repo.versions() == [v1, v2]
    assert repo.commit("dataset", "unchanged") == v2
