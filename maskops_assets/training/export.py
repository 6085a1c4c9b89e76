"""Export trained weights to ONNX for the edge, with the files cameras check and read.

The edge agent runs the ONNX graph with onnxruntime (or OpenVINO) and no torch. The graph is
exported with a dynamic input ``(1, 3, height, width)``: ``imgsz`` is the long side the model was
trained at, and a camera letterboxes its frame to the smallest rectangle whose long side is
``imgsz`` and whose sides are multiples of the stride (32), e.g. a 640x480 camera at imgsz 320 runs
a 256x320 input instead of 320x320. (ultralytics' dynamic export also makes the batch dynamic; the
edge always feeds 1.) The output is raw YOLOv8 ``(1, 4 + nc, N)``, N depending on the input size
(no NMS inside; the agent does its own class-aware NMS). ``metadata.json`` beside it names the
classes in output order, the input size and stride, the maskops ``model_version`` and where the
model came from (lineage).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskops_assets.training.ultralytics_env import prepare_ultralytics
from maskops_contracts import CLASS_NAMES, sha256_file, validate_id

MODEL_ONNX = "model.onnx"
MODEL_PT = "model.pt"
METADATA_JSON = "metadata.json"
METADATA_SCHEMA_VERSION = 1
STRIDE = 32  # YOLOv8's largest stride: input height and width must be multiples of it


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
    if imgsz < STRIDE or imgsz % STRIDE:
        raise ExportError(f"imgsz must be a positive multiple of the stride {STRIDE}, got {imgsz}")
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
    print(f"exporting {pt_path} to ONNX (dynamic height/width, imgsz {imgsz}) ...", flush=True)
    try:
        exported = Path(
            model.export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, opset=opset, device="cpu")
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
        "input": {
            "name": "images",
            "shape": [1, 3, "height", "width"],
            "dynamic": ["height", "width"],
            "stride": STRIDE,
            "note": (
                f"height and width must be multiples of the stride {STRIDE}; imgsz is the long side "
                "the model was trained at: letterbox the frame so its long side is imgsz and pad the "
                f"short side up to a multiple of {STRIDE}"
            ),
            "layout": "NCHW",
            "format": "RGB 0..1",
        },
        "output": {
            "shape": [1, 4 + len(class_names), "N"],
            "N": "anchors: (h/8)(w/8) + (h/16)(w/16) + (h/32)(w/32) for an h x w input",
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


def _check_graph(onnx_path: Path, imgsz: int, num_classes: int, stride: int = STRIDE) -> None:
    """Load the graph in onnxruntime, check its shapes and run it: what the edge agent will do first.

    The input must be ``(1 or dynamic, 3, H, W)`` with H and W dynamic (or equal to ``imgsz``); the
    graph must run on a square ``imgsz`` x ``imgsz`` input and on rectangular letterboxes two
    strides shorter (landscape and portrait), each time giving ``(1, 4 + num_classes, N)``.
    """
    import numpy as np
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as err:
        raise ExportError(f"{onnx_path} does not load in onnxruntime: {err}") from err
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ExportError(f"{onnx_path} has {len(inputs)} inputs, expected one image input")
    shape = list(inputs[0].shape)
    expected = f"[1, 3, height, width] with dynamic height/width (or {imgsz})"
    if len(shape) != 4:
        raise ExportError(f"{onnx_path} has input shape {shape}, expected {expected}")
    batch, channels, height, width = shape
    if not (_dynamic(batch) or batch == 1) or channels != 3:
        raise ExportError(f"{onnx_path} has input shape {shape}, expected {expected}")
    for dim in (height, width):
        if not (_dynamic(dim) or dim == imgsz):
            raise ExportError(f"{onnx_path} has input shape {shape}, expected {expected}")
    out_shape = session.get_outputs()[0].shape
    if len(out_shape) != 3 or out_shape[1] != 4 + num_classes:
        raise ExportError(f"{onnx_path} has output shape {out_shape}, expected [1, {4 + num_classes}, N]")

    short = max(stride, (imgsz - 2 * stride) // stride * stride)
    # square, landscape (a 4:3 camera) and portrait letterboxes
    for size in ((imgsz, imgsz), (short, imgsz), (imgsz, short)):
        image = np.zeros((1, 3, *size), np.float32)
        try:
            output = session.run(None, {inputs[0].name: image})[0]
        except Exception as err:
            raise ExportError(
                f"{onnx_path} does not run on a {tuple(image.shape)} input in onnxruntime: {err}; "
                "the edge letterboxes to a rectangle with sides multiples of the stride, so the graph "
                "needs dynamic height/width (export with dynamic=True)"
            ) from err
        if output.ndim != 3 or output.shape[:2] != (1, 4 + num_classes) or output.shape[2] < 1:
            raise ExportError(
                f"{onnx_path} gives output shape {tuple(output.shape)} on a {tuple(image.shape)} input, "
                f"expected (1, {4 + num_classes}, N)"
            )


def _dynamic(dim: object) -> bool:
    """onnxruntime reports a dynamic dimension as its name (a string) or None."""
    return dim is None or isinstance(dim, str)
