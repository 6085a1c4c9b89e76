"""How long the edge model takes per image: onnxruntime on CPU, the way a camera box runs it."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LatencyStats:
    """Median and 90th percentile of ``runs`` timed forward passes (after ``warmup`` untimed ones)."""

    median_ms: float
    p90_ms: float
    runs: int
    threads: int


def measure_onnx_latency(
    onnx_path: Path | str,
    *,
    imgsz: int | None = None,
    runs: int = 30,
    warmup: int = 3,
    threads: int = 1,
) -> LatencyStats:
    """Time ``runs`` single-image forward passes of ``onnx_path`` on a fixed random input.

    The input is one image: a dynamic batch dimension (the edge export's) becomes 1. A static
    height/width is used as it is (the only size such a graph runs); a dynamic one (the edge
    export) becomes ``imgsz``, so the time is that of a square ``imgsz`` x ``imgsz`` input, the
    largest a camera feeds at that size. ``imgsz`` is required for a graph with dynamic
    height/width: without it this raises ``ValueError`` naming the file rather than timing a
    meaningless size.

    One thread by default: a camera box shares its cores with decoding and sampling, and a
    fixed thread count makes numbers from different machines comparable.
    """
    import numpy as np
    import onnxruntime as ort

    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    if imgsz is not None and imgsz < 1:
        raise ValueError(f"imgsz must be >= 1, got {imgsz}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    model_input = session.get_inputs()[0]
    shape = _input_shape(onnx_path, list(model_input.shape), imgsz)
    dtype = np.float16 if model_input.type == "tensor(float16)" else np.float32
    image = np.random.default_rng(0).random(shape, dtype=np.float32).astype(dtype)
    feed = {model_input.name: image}
    for _ in range(warmup):
        session.run(None, feed)
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        timings.append((time.perf_counter() - start) * 1000.0)
    timings.sort()
    p90 = timings[min(len(timings) - 1, round(0.9 * (len(timings) - 1)))]
    return LatencyStats(statistics.median(timings), p90, runs, threads)


def _input_shape(onnx_path: Path | str, dims: list, imgsz: int | None) -> list[int]:
    """The NCHW shape to time: static dims as they are, a dynamic batch 1, dynamic height/width imgsz."""
    if len(dims) != 4:
        raise ValueError(f"{onnx_path} has input shape {dims}, expected an NCHW image input (4 dims)")
    batch, channels, height, width = dims
    shape = [batch if isinstance(batch, int) else 1, channels if isinstance(channels, int) else 3]
    for name, dim in (("height", height), ("width", width)):
        if isinstance(dim, int):
            shape.append(dim)  # the only size a static graph runs (ultralytics validates it so too)
        elif imgsz is None:
            raise ValueError(
                f"{onnx_path} has a dynamic input {name} (shape {dims}); pass imgsz, the size the "
                "model was exported at, to time an imgsz x imgsz image"
            )
        else:
            shape.append(imgsz)
    return shape
