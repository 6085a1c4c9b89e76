"""``maskops-datasets``: exit codes and messages a user sees, through main() and the installed script.

Named test_datasets_cli.py, not test_cli.py, so it never clashes with another package's CLI tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maskops_assets.datasets.annotations import AnnotationSet
from maskops_assets.datasets.cli import main
from maskops_assets.datasets.formats import FORMATS


@pytest.fixture
def voc_dir(sample_set: AnnotationSet, tmp_path: Path) -> Path:
    return FORMATS["voc"].write(sample_set, tmp_path / "voc")


def test_convert_writes_the_dataset_and_a_json_report(voc_dir: Path, tmp_path: Path, capsys):
    code = main(["convert", str(voc_dir), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo",
                 "--report", str(tmp_path / "report.json")])

    assert code == 0
    assert (tmp_path / "yolo" / "data.yaml").is_file()
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["images"], report["boxes"], report["skipped_count"]) == (4, 7, 0)
    assert "4 images, 7 boxes" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line_naming_the_file(voc_dir: Path, tmp_path: Path, capsys):
    bad = voc_dir / "annotations" / "face_b.xml"
    bad.write_text("<annotation>")

    code = main(["convert", str(voc_dir), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[-1].startswith(f"maskops-datasets: error: {bad}:1: malformed XML")
    assert "Traceback" not in err


def test_skip_invalid_converts_the_rest_and_prints_the_skip_report(voc_dir: Path, tmp_path: Path, capsys):
    bad = voc_dir / "annotations" / "face_b.xml"
    bad.write_text(bad.read_text().replace("mask_weared_incorrect", "scarf"))

    code = main(["convert", str(voc_dir), str(tmp_path / "coco"), "--from", "voc", "--to", "coco",
                 "--skip-invalid", "--report", str(tmp_path / "r.json")])

    out = capsys.readouterr().out
    assert code == 0
    assert "skipped 1 item(s):" in out
    assert f"{bad}: object #1 (scarf) has unknown class 'scarf'" in out
    assert "3 images" in out
    assert json.loads((tmp_path / "r.json").read_text())["skipped"][0]["path"] == str(bad)


def test_validate_says_ok_or_lists_every_problem(voc_dir: Path, capsys):
    assert main(["validate", str(voc_dir), "--format", "voc"]) == 0
    assert "ok:" in capsys.readouterr().out

    (voc_dir / "annotations" / "face_a.xml").write_text("")
    (voc_dir / "images" / "face_c.png").unlink()
    code = main(["validate", str(voc_dir), "--format", "voc"])

    err = capsys.readouterr().err
    assert code == 2
    assert "face_a.xml: file is empty" in err
    assert "image face_c.png is missing" in err
    assert "2 problem(s); 2 image(s) are valid" in err


def test_stats_prints_a_table_and_json(voc_dir: Path, capsys):
    assert main(["stats", str(voc_dir), "--format", "voc"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["split", "images", "with_mask", "without_mask", "mask_weared_incorrect"]
    assert table[-1].split() == ["total", "4", "3", "2", "2"]

    assert main(["stats", str(voc_dir), "--format", "voc", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["images_per_split"] == {"test": 1, "train": 2, "val": 1}
    assert stats["background_images"] == 1


def test_usage_errors_exit_2(voc_dir: Path, tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(voc_dir), str(tmp_path / "x"), "--from", "cvat", "--to", "yolo"])
    assert exit_info.value.code == 2

    code = main(["stats", str(voc_dir), "--format", "voc", "--image-root", str(tmp_path)])
    assert code == 2
    assert "image_root does not apply to the voc format" in capsys.readouterr().err

    code = main(["validate", str(tmp_path / "nowhere"), "--format", "coco"])
    assert code == 2
    assert f"{tmp_path / 'nowhere'}: not found" in capsys.readouterr().err


def test_the_installed_entry_point_runs(voc_dir: Path, tmp_path: Path):
    script = shutil.which("maskops-datasets", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "maskops_assets.datasets.cli"]
    (voc_dir / "annotations" / "face_a.xml").write_text("<x")

    result = subprocess.run(
        [*command, "convert", str(voc_dir), str(tmp_path / "ls"), "--from", "voc", "--to", "labelstudio"],
        capture_output=True, text=True, check=False,
    )

    assert result.returncode == 2
    [last] = result.stderr.splitlines()[-1:]
    assert last.startswith("maskops-datasets: error: ")
    assert "face_a.xml" in last
    assert "Traceback" not in result.stderr
