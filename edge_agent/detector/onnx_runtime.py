"""ONNX Runtime backend: runs a model on the CPU with an explicit thread count."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge_agent.detector.letterbox import to_input_tensor
from edge_agent.detector.onnx_metadata import read_onnx_metadata
from edge_agent.detector.types import FinishedForward, ModelLoadError, PendingForward, split_threads

__all__ = ["OnnxRuntimeBackend", "read_onnx_metadata"]


class _FuturePass:
    __slots__ = ("_future",)

    def __init__(self, future: Future[tuple[np.ndarray, float]]) -> None:
        self._future = future

    def result(self) -> tuple[np.ndarray, float]:
        return self._future.result()

    def done(self) -> bool:
        return self._future.done()


class OnnxRuntimeBackend:
    """One ``InferenceSession`` on the CPU execution provider.

    With ``streams`` > 1 the session (thread-safe for ``run``) is driven from that many worker
    threads, each pass with ``threads // streams`` intra-op threads; ONNX Runtime releases the
    GIL while it runs, so the camera thread goes on meanwhile.

    precision: the CPU provider runs a float32 graph in float32, with no reduced-precision
    mode on x86, so "fp32" is the only one there is (``offered_precisions``).
    """

    name = "onnxruntime"

    def __init__(self, model_path: Path, *, threads: int, streams: int = 1, precision: str = "fp32") -> None:
        if precision != "fp32":
            raise ModelLoadError(model_path, f"ONNX Runtime runs fp32 only, not {precision}")
        self.streams = streams
        self.precision = precision
        options = ort.SessionOptions()
        # Set explicitly: ORT's default uses every core, which starves other cameras on the box.
        options.intra_op_num_threads = split_threads(threads, streams)
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
        self._pool = (
            ThreadPoolExecutor(max_workers=streams, thread_name_prefix="ort-pass") if streams > 1 else None
        )

    def _forward(self, boxed_bgr: np.ndarray) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        output = self._session.run(None, {self._input_name: to_input_tensor(boxed_bgr)})[0]
        return output, (time.perf_counter() - start) * 1000.0

    def retain_shapes(self, shapes: set[tuple[int, int]] | frozenset[tuple[int, int]]) -> None:
        """Nothing to release: one session runs every input shape."""

    def submit(self, boxed_bgr: np.ndarray) -> PendingForward:
        if self._pool is None:
            try:
                return FinishedForward(*self._forward(boxed_bgr))
            except Exception as err:  # raised by result(), where the caller handles the frame
                return FinishedForward(None, 0.0, err)
        return _FuturePass(self._pool.submit(self._forward, boxed_bgr))
