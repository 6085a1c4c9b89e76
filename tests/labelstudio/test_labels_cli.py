"""``maskops labels import|export``: teams on other tools take part through files."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskops_assets.cli import main
from maskops_assets.datasets.formats import FORMATS
from maskops_assets.ingest.seeding import seed_samples_from_video, write_review_export
from maskops_assets.labels import list_label_batches
from maskops_assets.store import LocalObjectStore


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "store"
    for name in ("MASKOPS_STORE_KIND", "MASKOPS_STORE_PREFIX", "LABEL_STUDIO_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MASKOPS_STORE_ROOT", str(root))
    store = LocalObjectStore(root)
    samples = seed_samples_from_video(store, tmp_path / "camera", n_frames=12, every=2, size=(128, 96))
    return store, samples


@pytest.mark.parametrize("fmt", ["yolo", "coco", "voc", "labelstudio"])
def test_import_then_export_keeps_every_box(store_env, tmp_path: Path, fmt: str, capsys) -> None:
    store, samples = store_env
    export = write_review_export(samples, tmp_path / "review")
    assert main(["-q", "labels", "import", str(export), "--format", "yolo"]) == 0
    assert len(list_label_batches(store)) == 1
    assert "label batch" in capsys.readouterr().out

    out = tmp_path / f"out-{fmt}"
    assert main(["-q", "labels", "export", str(out), "--format", fmt, "--keep-difficult"]) == 0
    assert f"exported {len(samples)} images" in capsys.readouterr().out
    back = FORMATS[fmt].read(out)
    assert len(back.images) == len(samples)
    assert sum(len(im.boxes) for im in back.images) == sum(len(s.boxes) for s in samples)


def test_errors_are_one_line_and_exit_2(store_env, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["labels", "export", str(out), "--format", "coco"]) == 2
    assert "no reviewed labels" in capsys.readouterr().err
    bad = tmp_path / "bad"
    (bad / "labels" / "train").mkdir(parents=True)
    assert main(["labels", "import", str(bad), "--format", "yolo"]) == 2
    assert "rejected, nothing was imported" in capsys.readouterr().err
