"""ONNX Runtime backend: runs a model on the CPU with an explicit thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge_agent.detector.base import ModelLoadError


def read_onnx_metadata(model_path: Path) -> dict[str, str]:
    """The export's custom metadata (YOLOv8 exports write names, imgsz, stride...)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises several unrelated types for a bad file
        raise ModelLoadError(model_path, f"not a loadable ONNX model ({err})") from err
    return dict(session.get_modelmeta().custom_metadata_map)


class OnnxRuntimeBackend:
    """One ``InferenceSession`` on the CPU execution provider."""

    name = "onnxruntime"

    def __init__(self, model_path: Path, *, threads: int) -> None:
        options = ort.SessionOptions()
        # Set explicitly: ORT's default uses every core, which starves other cameras on the box.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # InvalidProtobuf, Fail, NoSuchFile... all mean "this file is unusable"
            raise ModelLoadError(model_path, f"not a loadable ONNX model ({err})") from err
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ModelLoadError(model_path, f"expected one image input, the model has {len(inputs)}")
        self._input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
        self.metadata = dict(self._session.get_modelmeta().custom_metadata_map)

    def run(self, tensor: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input_name: tensor})[0]
