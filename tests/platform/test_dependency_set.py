"""The deliberate antlr4 override works on both sides (see constraints/overrides.txt).

Dagster's asset-selection grammar needs the antlr4 4.13 runtime; DVC pins 4.9 through hydra but
maskops drives DVC only through its CLI. Both must work in this one environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import dagster as dg

from maskops_assets.definitions import defs
from maskops_assets.versioning import DatasetRepo
from maskops_assets.versioning.dvc_repo import dvc_executable

REPO = Path(__file__).resolve().parents[2]


def test_the_installed_runtime_is_the_override() -> None:
    assert version("antlr4-python3-runtime").startswith("4.13")


def test_dagster_selection_strings_parse_on_the_real_definitions() -> None:
    selection = dg.AssetSelection.from_string('group:data and not key:"collected_frames"')
    keys = selection.resolve(defs().resolve_asset_graph())
    assert {k.to_user_string() for k in keys} == {"labeling_tasks", "reviewed_labels", "labeled_dataset"}


def test_dagster_cli_lists_a_selection(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "MASKOPS_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "list",
            "-m",
            "maskops_assets.definitions",
            "--select",
            "group:data",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(proc.stdout.split()) >= {"collected_frames", "reviewed_labels", "labeled_dataset"}
    assert "trained_model" not in proc.stdout.split()


def test_dvc_operations_maskops_uses_work_with_the_same_runtime(tmp_path: Path) -> None:
    # init, add, commit, push to a local remote, checkout of an older version
    assert Path(dvc_executable()).parent == Path(sys.executable).parent
    repo = DatasetRepo(tmp_path / "repo", str(tmp_path / "remote"))
    repo.ensure_initialised()
    (repo.root / "dataset").mkdir()
    (repo.root / "dataset" / "labels.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    repo.commit("dataset", "v1")
    (repo.root / "dataset" / "labels.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    repo.commit("dataset", "v2")
    repo.push()
    old = repo.checkout("dataset-v1")
    assert (old / "dataset" / "labels.txt").read_text().startswith("0 ")
