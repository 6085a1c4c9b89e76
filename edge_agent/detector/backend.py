"""What a runtime backend offers the detector: one model, frames in, raw YOLOv8 output out.

A backend takes a letterboxed BGR uint8 image (it does its own conversion to the model's
float RGB input, where its runtime does that fastest) and starts the forward pass without
waiting for it: ``submit`` returns a ``PendingForward`` whose ``result`` blocks. With
``streams`` > 1 that many passes run at once; more may be submitted, and they queue inside the
runtime, which starts the next one the moment a pass ends. A caller that keeps about twice
``streams`` frames in flight keeps every stream busy while it decodes and post-processes.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PendingForward(Protocol):
    """A forward pass that was started; ``result`` waits for it."""

    def result(self) -> tuple[np.ndarray, float]:
        """The first output (1, 4 + nc, N) and the milliseconds the runtime spent on the pass."""
        ...

    def done(self) -> bool:
        """True when ``result`` would not wait."""
        ...


class InferenceBackend(Protocol):
    """A model on one runtime. ``input_shape`` is the model's NCHW input, None where dynamic.
    ``precision`` ("fp32", "bf16") is what the runtime runs it at, checked on the compiled model."""

    name: str
    precision: str
    input_shape: tuple[int | None, ...]
    metadata: dict[str, str]
    streams: int

    def submit(self, boxed_bgr: np.ndarray) -> PendingForward:
        """Start a forward pass on a letterboxed (H, W, 3) BGR uint8 image."""
        ...


class FinishedForward:
    """A pass that already ran (or failed): ``result`` returns it or raises its error."""

    __slots__ = ("_error", "_ms", "_output")

    def __init__(self, output: np.ndarray | None, ms: float, error: BaseException | None = None) -> None:
        self._output, self._ms, self._error = output, ms, error

    def done(self) -> bool:
        return True

    def result(self) -> tuple[np.ndarray, float]:
        if self._error is not None:
            raise self._error
        assert self._output is not None
        return self._output, self._ms


def split_threads(threads: int, streams: int) -> int:
    """Threads each of ``streams`` concurrent passes gets out of ``threads`` in all (at least 1)."""
    return max(1, threads // max(1, streams))
