"""The custom metadata of an ONNX file (YOLOv8 exports write names, imgsz, stride...).

Neutral ground for both backends: OpenVINO does not expose ONNX ``metadata_props``, so it reads
them here rather than from the ONNX Runtime backend. ONNX Runtime is always installed on the edge.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from edge_agent.detector.types import ModelLoadError


def read_onnx_metadata(model_path: Path | str) -> dict[str, str]:
    """The export's custom metadata; ModelLoadError naming the file when it is not a loadable model."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises several unrelated types for a bad file
        raise ModelLoadError(model_path, f"not a loadable ONNX model ({err})") from err
    return dict(session.get_modelmeta().custom_metadata_map)
