import subprocess
import sys
from pathlib import Path

import yaml

from maskops_assets.synthetic.cli import main


def test_images_command_writes_a_dataset(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ds"
    assert main(["images", str(out), "--n", "5", "--seed", "1", "--size", "64", "--splits", "3,1,1"]) == 0
    data_yaml = out / "data.yaml"
    assert capsys.readouterr().out.strip().endswith(str(data_yaml))
    assert len(list((out / "images" / "train").glob("*.jpg"))) == 3
    assert yaml.safe_load(data_yaml.read_text())["test"] == "images/test"


def test_video_command_with_shifted_domain(tmp_path: Path) -> None:
    out = tmp_path / "clip.avi"
    assert main(["video", str(out), "--frames", "4", "--size", "80x64", "--domain", "shifted"]) == 0
    assert out.exists()
    assert len((tmp_path / "clip.groundtruth.jsonl").read_text().splitlines()) == 4


def test_domain_command_writes_a_yaml_the_images_command_reads(tmp_path: Path) -> None:
    domain_yaml = tmp_path / "shifted.yaml"
    assert main(["domain", str(domain_yaml), "--domain", "shifted"]) == 0
    assert (
        main(["images", str(tmp_path / "ds"), "--n", "2", "--size", "64", "--domain", str(domain_yaml)]) == 0
    )


def test_bad_domain_file_is_one_line_on_stderr_not_a_traceback(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("lighting: bright\n")
    assert main(["images", str(tmp_path / "ds"), "--domain", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'lighting'" in err and "Traceback" not in err


def test_occupied_output_folder_is_reported(tmp_path: Path, capsys) -> None:
    assert main(["images", str(tmp_path), "--n", "1", "--size", "32"]) == 0
    assert main(["images", str(tmp_path), "--n", "1", "--size", "32"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_runs_as_a_program(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "maskops_assets.synthetic.cli",
            "images",
            str(tmp_path / "ds"),
            "--n",
            "2",
            "--size",
            "48",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "rendered 2/2 images" in done.stdout
