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
    onnx_path: Path | str, *, runs: int = 30, warmup: int = 3, threads: int = 1
) -> LatencyStats:
    """Time ``runs`` single-image forward passes of ``onnx_path`` on a fixed random input.

    One thread by default: a camera box shares its cores with decoding and sampling, and a
    fixed thread count makes numbers from different machines comparable.
    """
    import numpy as np
    import onnxruntime as ort

    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    model_input = session.get_inputs()[0]
    shape = [dim if isinstance(dim, int) else 1 for dim in model_input.shape]
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
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
