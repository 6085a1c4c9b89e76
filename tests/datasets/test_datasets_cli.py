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
import yaml
from dataset_builders import WITH, WITHOUT, kaggle_xml, write_kaggle_set

from maskops_assets.datasets.annotations import AnnotationSet
from maskops_assets.datasets.cli import main
from maskops_assets.datasets.formats import FORMATS
from maskops_assets.datasets.split import content_hash, split_for


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


# Issue 8: a held-out VOC set in the Kaggle layout (images/*.png + annotations/*.xml).


@pytest.fixture
def held_out(tmp_path: Path) -> Path:
    """Four Kaggle-layout images, no split lists; one box is difficult."""
    files = {
        f"maksssksksss{n}": (48 + 8 * n, 40, [(WITH, 2, 3, 20, 30), (WITHOUT, 22, 3, 40, 30, int(n == 0), 0)])
        for n in range(4)
    }
    return write_kaggle_set(tmp_path / "held_out", files)


@pytest.fixture(scope="module")
def ultralytics_check(tmp_path_factory):
    """ultralytics' own dataset check (the one that refused a train-only data.yaml), offline."""
    from maskops_assets.training.ultralytics_env import prepare_ultralytics

    prepare_ultralytics(tmp_path_factory.mktemp("ultralytics"))
    utils = pytest.importorskip("ultralytics.data.utils")
    return utils.check_det_dataset


def test_a_size_mismatch_is_a_warning_on_stderr_and_in_the_report(held_out: Path, tmp_path: Path, capsys):
    # The case: <size> says 400x226 on an image that is 267x400.
    write_kaggle_set(held_out, {"portrait": (267, 400, [])})
    xml = held_out / "annotations" / "portrait.xml"
    xml.write_text(kaggle_xml("portrait.png", 400, 226, [(WITH, 10, 20, 200, 210)]))

    code = main(["convert", str(held_out), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo",
                 "--split", "1,0,0", "--report", str(tmp_path / "r.json")])

    err = capsys.readouterr().err
    assert code == 0
    [line] = [line for line in err.splitlines() if "portrait" in line]
    assert line.startswith(f"maskops-datasets: warning: {xml}: <size> says 400x226")
    assert "267x400" in line
    warnings = json.loads((tmp_path / "r.json").read_text())["warnings"]
    [warning] = [w for w in warnings if w["path"] == str(xml)]
    assert "<size> says 400x226 but the image" in warning["message"]
    # normalised by the real 267x400: centre (105, 115), size 190x190
    label = (tmp_path / "yolo" / "labels" / "train" / "portrait.txt").read_text().split()
    expected = [105 / 267, 115 / 400, 190 / 267, 190 / 400]
    assert [float(v) for v in label[1:]] == pytest.approx(expected, abs=1e-6)


def test_an_unreadable_image_is_an_error_naming_it(held_out: Path, tmp_path: Path, capsys):
    image = held_out / "images" / "maksssksksss2.png"
    image.write_bytes(b"")

    code = main(["convert", str(held_out), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo"])

    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"maskops-datasets: error: {image}: ")
    assert not (tmp_path / "yolo").exists()


def test_skip_invalid_with_nothing_valid_is_an_error_that_points_at_the_report(
    held_out: Path, tmp_path: Path, capsys
):
    for xml in (held_out / "annotations").iterdir():
        xml.write_text(xml.read_text().replace(WITH, "scarf"))
    report = tmp_path / "report.json"

    code = main(["convert", str(held_out), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo",
                 "--skip-invalid", "--report", str(report)])

    captured = capsys.readouterr()
    assert code == 2
    last = captured.err.splitlines()[-1]
    assert last.startswith(f"maskops-datasets: error: {held_out}: nothing valid found: all 4 item(s)")
    assert f"see {report}" in last
    assert "skipped 4 item(s):" in captured.out
    assert not (tmp_path / "yolo" / "data.yaml").exists()
    saved = json.loads(report.read_text())
    assert (saved["images"], saved["skipped_count"], saved["output"]) == (0, 4, None)
    assert "nothing valid found" in saved["error"]


def test_without_split_val_points_at_train_with_a_note_and_ultralytics_accepts_it(
    held_out: Path, tmp_path: Path, capsys, ultralytics_check
):
    code = main(["convert", str(held_out), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo"])

    err = capsys.readouterr().err
    assert code == 0
    data_yaml = tmp_path / "yolo" / "data.yaml"
    assert f"maskops-datasets: warning: {data_yaml}: the dataset has no val images; 'val' points at" in err
    checked = ultralytics_check(str(data_yaml), autodownload=False)
    assert checked["val"] == checked["train"] == str((tmp_path / "yolo" / "images" / "train").resolve())


def test_split_writes_train_val_test_by_content_hash_and_ultralytics_accepts_it(
    held_out: Path, tmp_path: Path, capsys, ultralytics_check
):
    # Each image's split is the project's content-hash split of its bytes; 50,25,25 are weights.
    ratios = (0.5, 0.25, 0.25)
    expected = {p.stem: split_for(content_hash(p), ratios) for p in (held_out / "images").iterdir()}

    code = main(["convert", str(held_out), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo",
                 "--split", "50,25,25"])

    assert code == 0
    out = tmp_path / "yolo"
    written = {p.stem: p.parent.name for p in (out / "images").rglob("*.png")}
    assert written == expected
    config = yaml.safe_load((out / "data.yaml").read_text())
    for split in set(expected.values()):
        assert config[split] == f"images/{split}"
    checked = ultralytics_check(str(out / "data.yaml"), autodownload=False)
    assert {"train", "val"} <= set(checked)


def test_difficult_boxes_are_left_out_of_yolo_unless_kept(held_out: Path, tmp_path: Path, capsys):
    code = main(["convert", str(held_out), str(tmp_path / "yolo"), "--from", "voc", "--to", "yolo",
                 "--report", str(tmp_path / "r.json")])

    out = capsys.readouterr().out
    assert code == 0
    assert "left 1 difficult box(es) out of the yolo labels (--keep-difficult" in out
    assert json.loads((tmp_path / "r.json").read_text())["difficult_left_out"] == 1
    label = tmp_path / "yolo" / "labels" / "train" / "maksssksksss0.txt"
    assert len(label.read_text().splitlines()) == 1

    code = main(["convert", str(held_out), str(tmp_path / "kept"), "--from", "voc", "--to", "yolo",
                 "--keep-difficult"])

    assert code == 0
    assert "left out" not in capsys.readouterr().out
    assert len((tmp_path / "kept" / "labels" / "train" / "maksssksksss0.txt").read_text().splitlines()) == 2


@pytest.mark.parametrize("bad", ["0.8,0.2", "a,b,c", "0,0,0", "-1,1,1"])
def test_a_bad_split_is_a_usage_error(held_out: Path, tmp_path: Path, capsys, bad: str):
    args = ["convert", str(held_out), str(tmp_path / "x"), "--from", "voc", "--to", "yolo", f"--split={bad}"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)

    assert exit_info.value.code == 2
    assert "train,val,test" in capsys.readouterr().err



def test_validate_and_stats_print_a_size_warning_but_pass(held_out: Path, capsys):
    xml = held_out / "annotations" / "maksssksksss1.xml"
    xml.write_text(xml.read_text().replace("<width>56</width>", "<width>560</width>"))

    assert main(["validate", str(held_out), "--format", "voc"]) == 0
    captured = capsys.readouterr()
    assert "ok:" in captured.out
    assert f"maskops-datasets: warning: {xml}: <size> says 560x40" in captured.err

    assert main(["stats", str(held_out), "--format", "voc", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["warnings"][0]["path"] == str(xml)
    assert json.loads(captured.out)["difficult_boxes"] == 1
