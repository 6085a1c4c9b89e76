"""ONNX export for the edge: loads in onnxruntime, dynamic height/width, sha256 and metadata.json."""

import json
from pathlib import Path

import pytest

from maskops_assets.training.export import ExportError, _check_graph, export_onnx
from maskops_contracts import CLASS_NAMES, sha256_file

pytestmark = pytest.mark.slow
NC = len(CLASS_NAMES)


def anchors(height: int, width: int) -> int:
    """YOLOv8's N for an h x w input: one cell per stride-8, -16 and -32 grid position."""
    return sum((height // s) * (width // s) for s in (8, 16, 32))


@pytest.fixture(scope="module")
def exported(tiny_models, tmp_path_factory):
    return export_onnx(
        tiny_models["good"].weights,
        tmp_path_factory.mktemp("export"),
        imgsz=96,
        model_version="maskops-detector-v1",
        lineage={"dataset_version": "ds-v1", "mlflow_run_id": "abc"},
    )


def test_export_writes_onnx_weights_and_metadata(exported):
    assert {p.name for p in (exported.onnx, exported.weights, exported.metadata)} == {
        "model.onnx",
        "model.pt",
        "metadata.json",
    }
    assert exported.sha256 == sha256_file(exported.onnx)
    metadata = json.loads(exported.metadata.read_text())
    assert metadata["model_version"] == "maskops-detector-v1"
    assert metadata["class_names"] == list(CLASS_NAMES)
    assert metadata["imgsz"] == 96
    assert metadata["onnx_sha256"] == exported.sha256
    assert metadata["lineage"]["dataset_version"] == "ds-v1"


def test_metadata_describes_the_dynamic_input(exported):
    metadata = json.loads(exported.metadata.read_text())
    assert metadata["input"]["shape"] == [1, 3, "height", "width"]
    assert metadata["input"]["stride"] == 32
    assert "multiple" in metadata["input"]["note"] and "imgsz" in metadata["input"]["note"]
    assert metadata["output"]["shape"] == [1, 4 + NC, "N"]


def test_onnx_has_dynamic_height_and_width(exported):
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported.onnx), providers=["CPUExecutionProvider"])
    batch, channels, height, width = session.get_inputs()[0].shape
    assert channels == 3
    assert all(isinstance(dim, str) for dim in (batch, height, width)), session.get_inputs()[0].shape


@pytest.mark.parametrize("size", [(96, 96), (64, 96), (32, 96), (96, 64), (128, 160)])
def test_onnx_runs_square_and_rectangular_letterboxes(exported, size):
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported.onnx), providers=["CPUExecutionProvider"])
    image = np.zeros((1, 3, *size), np.float32)
    (output,) = session.run(None, {session.get_inputs()[0].name: image})
    assert output.shape == (1, 4 + NC, anchors(*size))


def test_export_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ExportError, match=r"missing\.pt"):
        export_onnx(tmp_path / "missing.pt", tmp_path, imgsz=96, model_version="m-v1")


def test_export_rejects_an_imgsz_off_the_stride(exported, tmp_path: Path):
    with pytest.raises(ExportError, match="multiple of the stride 32"):
        export_onnx(exported.weights, tmp_path, imgsz=100, model_version="m-v1")


def test_check_graph_accepts_the_export_and_a_dynamic_toy(exported, toy_onnx):
    _check_graph(exported.onnx, 96, NC)
    _check_graph(toy_onnx("dynamic.onnx", ["batch", 3, "height", "width"], channels=4 + NC), 96, NC)


def test_check_graph_rejects_a_static_graph(toy_onnx):
    # the old fixed-shape export: runs at 96 x 96 but not on the rectangular letterbox
    path = toy_onnx("static.onnx", [1, 3, 96, 96], channels=4 + NC)
    with pytest.raises(ExportError, match=r"static\.onnx does not run on a \(1, 3, 32, 96\) input"):
        _check_graph(path, 96, NC)


def test_check_graph_rejects_a_graph_that_only_declares_dynamic_shapes(toy_onnx):
    path = toy_onnx("fake_dynamic.onnx", ["batch", 3, "h", "w"], channels=4 + NC, reshape=(1, 4 + NC, 9))
    with pytest.raises(ExportError, match=r"fake_dynamic\.onnx does not run on a \(1, 3, 32, 96\)"):
        _check_graph(path, 96, NC)


def test_check_graph_rejects_a_portrait_only_failure(toy_onnx):
    # height dynamic, width fixed at imgsz: landscape letterboxes run, portrait ones do not
    path = toy_onnx("fixed_width.onnx", ["batch", 3, "h", 96], channels=4 + NC)
    with pytest.raises(ExportError, match=r"fixed_width\.onnx does not run on a \(1, 3, 96, 32\)"):
        _check_graph(path, 96, NC)


@pytest.mark.parametrize(
    ("name", "input_shape", "channels", "match"),
    [
        ("other_size.onnx", [1, 3, 128, "w"], 4 + NC, r"other_size\.onnx has input shape \[1, 3, 128, 'w'\]"),
        ("grey.onnx", [1, 1, "h", "w"], 4 + NC, r"grey\.onnx has input shape"),
        ("batch2.onnx", [2, 3, "h", "w"], 4 + NC, r"batch2\.onnx has input shape"),
        ("wrong_classes.onnx", ["b", 3, "h", "w"], 4 + NC + 1, r"wrong_classes\.onnx has output shape"),
    ],
)
def test_check_graph_rejects_wrong_shapes(toy_onnx, name, input_shape, channels, match):
    with pytest.raises(ExportError, match=match):
        _check_graph(toy_onnx(name, input_shape, channels=channels), 96, NC)


def test_check_graph_rejects_a_file_onnxruntime_cannot_load(tmp_path: Path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"not an onnx graph")
    with pytest.raises(ExportError, match=r"garbage\.onnx does not load in onnxruntime"):
        _check_graph(path, 96, NC)
