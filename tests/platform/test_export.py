"""ONNX export for the edge: loads in onnxruntime, fixed shapes, sha256 and metadata.json."""

import json
from pathlib import Path

import pytest

from maskops_assets.training.export import ExportError, export_onnx, sha256_file
from maskops_contracts import CLASS_NAMES

pytestmark = pytest.mark.slow


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


def test_onnx_runs_in_onnxruntime_with_the_edge_shapes(exported):
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported.onnx), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, 96, 96), np.float32)})
    assert output.shape[:2] == (1, 4 + len(CLASS_NAMES))


def test_export_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ExportError, match=r"missing\.pt"):
        export_onnx(tmp_path / "missing.pt", tmp_path, imgsz=96, model_version="m-v1")
