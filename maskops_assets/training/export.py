"""Export trained weights to ONNX for the edge, with the files cameras check and read.

The edge agent runs the ONNX graph with onnxruntime and no torch: fixed input
``(1, 3, imgsz, imgsz)``, raw YOLOv8 output ``(1, 4 + nc, N)`` (no NMS inside; the agent does
its own class-aware NMS). ``metadata.json`` beside it names the classes in output order, the
input size, the maskops ``model_version`` and where the model came from (lineage).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskops_assets.training.ultralytics_env import prepare_ultralytics
from maskops_contracts import CLASS_NAMES, validate_id

MODEL_ONNX = "model.onnx"
MODEL_PT = "model.pt"
METADATA_JSON = "metadata.json"
METADATA_SCHEMA_VERSION = 1


class ExportError(RuntimeError):
    """ONNX export failed or produced a graph the edge cannot run; the message names the file."""


@dataclass(frozen=True)
class ExportedModel:
    """The three files published under ``models/<model_version>/`` and the ONNX file's sha256."""

    directory: Path
    onnx: Path
    weights: Path
    metadata: Path
    sha256: str
    imgsz: int
    class_names: tuple[str, ...]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_onnx(
    weights: Path | str,
    out_dir: Path | str,
    *,
    imgsz: int,
    model_version: str,
    lineage: dict[str, Any] | None = None,
    settings_dir: Path | str | None = None,
    opset: int | None = None,
) -> ExportedModel:
    """Write ``model.pt``, ``model.onnx`` and ``metadata.json`` for ``model_version`` into ``out_dir``."""
    validate_id(model_version, "model_version")
    weights = Path(weights)
    if not weights.is_file():
        raise ExportError(
            f"weights file {weights} does not exist; pass the best.pt of a finished training run"
        )
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    prepare_ultralytics(settings_dir or out_dir / ".ultralytics")
    from ultralytics import YOLO

    pt_path = out_dir / MODEL_PT
    if weights.resolve() != pt_path:
        shutil.copyfile(weights, pt_path)
    model = YOLO(str(pt_path))
    class_names = tuple(model.names[i] for i in sorted(model.names))
    print(f"exporting {pt_path} to ONNX at imgsz {imgsz} ...", flush=True)
    try:
        exported = Path(
            model.export(format="onnx", imgsz=imgsz, dynamic=False, simplify=True, opset=opset, device="cpu")
        )
    except Exception as err:  # ultralytics raises many kinds; all mean the same to the caller
        raise ExportError(f"ONNX export of {pt_path} failed: {err}") from err
    onnx_path = out_dir / MODEL_ONNX
    if exported.resolve() != onnx_path:
        shutil.move(str(exported), onnx_path)
    _check_graph(onnx_path, imgsz, len(class_names))

    sha = sha256_file(onnx_path)
    metadata = {
        "schema_version": METADATA_SCHEMA_VERSION,
        "model_version": model_version,
        "class_names": list(class_names),
        "imgsz": imgsz,
        "input": {"name": "images", "shape": [1, 3, imgsz, imgsz], "layout": "NCHW", "format": "RGB 0..1"},
        "output": {
            "shape": [1, 4 + len(class_names), "N"],
            "boxes": "cx, cy, w, h in input pixels",
            "nms": False,
        },
        "onnx_sha256": sha,
        "weights_sha256": sha256_file(pt_path),
        "lineage": lineage or {},
    }
    metadata_path = out_dir / METADATA_JSON
    metadata_path.write_text(json.dumps(metadata, indent=2, sort_keys=True))
    if class_names != CLASS_NAMES:
        print(f"note: model classes {class_names} differ from maskops' {CLASS_NAMES}", flush=True)
    return ExportedModel(out_dir, onnx_path, pt_path, metadata_path, sha, imgsz, class_names)


def _check_graph(onnx_path: Path, imgsz: int, num_classes: int) -> None:
    """Load the graph in onnxruntime and check its shapes: what the edge agent will do first."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as err:
        raise ExportError(f"{onnx_path} does not load in onnxruntime: {err}") from err
    shape = list(session.get_inputs()[0].shape)
    if shape != [1, 3, imgsz, imgsz]:
        raise ExportError(f"{onnx_path} has input shape {shape}, expected [1, 3, {imgsz}, {imgsz}]")
    out_shape = session.get_outputs()[0].shape
    if len(out_shape) != 3 or out_shape[1] != 4 + num_classes:
        raise ExportError(f"{onnx_path} has output shape {out_shape}, expected [1, {4 + num_classes}, N]")
