"""The detector's shared types: its config, its errors, its result and the protocols between the
detector and its runtime backends.

This module imports nothing of ``edge_agent``: ``base`` (which picks and loads a backend), the
backends (ONNX Runtime, OpenVINO) and the YOLO detector all import it, and nothing here imports
them back, so the package has no import cycle.

A backend takes a letterboxed BGR uint8 image (it does its own conversion to the model's
float RGB input, where its runtime does that fastest) and starts the forward pass without
waiting for it: ``submit`` returns a ``PendingForward`` whose ``result`` blocks. With
``streams`` > 1 that many passes run at once; more may be submitted, and they queue inside the
runtime, which starts the next one the moment a pass ends. A caller that keeps about twice
``streams`` frames in flight keeps every stream busy while it decodes and post-processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from maskops_contracts import Detection
from maskops_contracts.threads import default_threads

Runtime = Literal["auto", "onnxruntime", "openvino"]
Precision = Literal["auto", "fp32", "bf16"]
#: The precisions a detector runs the released model file at, fastest first.
FASTEST_FIRST: tuple[Literal["fp32", "bf16"], ...] = ("bf16", "fp32")


class DetectorConfig(BaseModel):
    """How the model runs on this box.

    threads is always set explicitly on the runtime (never left to its own guess), so
    several agents on one box can be given a share each.

    streams: forward passes run at once (``threads // streams`` threads each); a camera keeps
    that many frames in flight, so it decodes and post-processes one frame while the model
    runs on another. Small models use many cores better this way than with all threads on one
    pass (measured on 2 cores, YOLOv8n at 320: about 190 frames/s against 160). 1 runs one
    frame at a time with every thread on it (lowest latency per frame). Default: ``threads``,
    at most 4.

    precision: the arithmetic the runtime runs the model in. Always set on the runtime, because
    OpenVINO left to itself runs bfloat16 on CPUs with AMX (Xeon Sapphire Rapids and later),
    which the release gate may never have measured.

    - ``fp32``: float32, what the model was trained and judged in; every runtime and CPU
      offers it.
    - ``bf16``: bfloat16, much faster on CPUs with AMX and slightly less exact; OpenVINO only,
      and only where the CPU offers it (``offered_precisions``), else the model does not load.
      A released model runs it only if the gate measured bf16 on that runtime (its manifest's
      ``variants``); otherwise model sync refuses that release and the camera keeps its model.
    - ``auto`` (default): the fastest precision this box offers that the gate measured for the
      release on this runtime (bf16 where both, else fp32); a release that measured nothing this
      box can run on this runtime is refused. fp32 for a model given by ``model_path`` (no gate).
      On OpenVINO, where the release lists an INT8 model (``model_int8.zip``, measured by the gate
      within ``int8_max_drop`` of fp32), ``auto`` runs that file instead (the detector then reports
      precision ``int8``); ``fp32``/``bf16`` force the model file. ONNX Runtime runs the model
      file (the gate measures INT8 on OpenVINO only) and says so once in the log.
    """

    model_config = ConfigDict(extra="forbid")

    runtime: Runtime = "auto"
    precision: Precision = "auto"
    threads: int = Field(default_factory=default_threads, ge=1)
    streams: int | None = Field(None, ge=1, le=16)
    conf_threshold: float = Field(0.25, ge=0.0, le=1.0)
    iou_threshold: float = Field(0.45, gt=0.0, le=1.0)
    max_detections: int = Field(100, ge=1)

    @property
    def resolved_streams(self) -> int:
        """``streams``, or its default: one per thread, at most 4."""
        return self.streams if self.streams is not None else max(1, min(self.threads, 4))


class ModelLoadError(RuntimeError):
    """A model file cannot be used: missing, not a model, or a shape this agent cannot decode.

    ``reason`` is the label model sync counts a refusal of it under.
    """

    reason = "load_failed"

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class PrecisionUnavailable(ModelLoadError):
    """The precision asked for cannot run this model here.

    reason: ``precision_not_offered`` (the runtime or this CPU does not offer it) or
    ``precision_not_measured`` (the release gate did not measure it for this model).
    """

    def __init__(self, path: Path | str, reason: str, problem: str) -> None:
        self.reason = reason
        super().__init__(path, problem)


@dataclass
class DetectionResult:
    """The boxes the model kept on one frame (in original-frame pixels) and what it cost.

    inference_ms covers letterbox, the forward pass (as the runtime timed it) and decoding:
    what one frame costs the box, without the time it waited behind other frames in flight.
    """

    detections: list[Detection] = field(default_factory=list)
    inference_ms: float = 0.0


class PendingResult(Protocol):
    """A frame whose forward pass was started."""

    def result(self) -> DetectionResult:
        """Wait for the pass; the frame's boxes in its own pixels."""
        ...

    def done(self) -> bool:
        """True when ``result`` would not wait."""
        ...


@runtime_checkable
class Detector(Protocol):
    """A loaded model ready to run on BGR frames.

    streams: how many forward passes run at once. A caller keeps about twice as many frames
    submitted and not yet collected, so a stream never waits for the caller (more queue).
    """

    model_version: str
    imgsz: int
    class_names: tuple[str, ...]
    runtime: str
    #: "fp32" or "bf16": what the compiled model runs, read back from the runtime
    precision: str
    streams: int

    def submit(self, image_bgr: np.ndarray) -> PendingResult:
        """Start the model on one BGR uint8 (H, W, 3) image; collect with ``result()``."""
        ...

    def detect(self, image_bgr: np.ndarray) -> DetectionResult:
        """Run the model on one BGR uint8 (H, W, 3) image; boxes come back in its pixels."""
        ...

    @property
    def frame_sizes(self) -> frozenset[tuple[int, int]]:
        """The (height, width) of the frames it has run on (a successor warms up on these)."""
        ...

    def warmup(self, n: int = 2, frame_sizes: frozenset[tuple[int, int]] | None = None) -> None:
        """Run ``n`` dummy frames (of each size in ``frame_sizes``) so the first real frame
        does not pay for lazy initialisation."""
        ...


# ---------------------------------------------------------------- backends
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

    def retain_shapes(self, shapes: set[tuple[int, int]] | frozenset[tuple[int, int]]) -> None:
        """Free what the backend holds for (height, width) inputs not in ``shapes`` (a backend
        that compiles per input shape keeps only the ones frames use)."""
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
