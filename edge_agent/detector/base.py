"""What the rest of the agent sees of a detector: its config, its result and a small Protocol.

The camera worker only calls ``load_detector`` and ``Detector.submit``/``detect``; which
runtime runs the model (ONNX Runtime or OpenVINO) is an implementation detail chosen here.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from maskops_contracts import Detection

Runtime = Literal["auto", "onnxruntime", "openvino"]


def _default_threads() -> int:
    return os.cpu_count() or 1


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
    """

    model_config = ConfigDict(extra="forbid")

    runtime: Runtime = "auto"
    threads: int = Field(default_factory=_default_threads, ge=1)
    streams: int | None = Field(None, ge=1, le=16)
    conf_threshold: float = Field(0.25, ge=0.0, le=1.0)
    iou_threshold: float = Field(0.45, gt=0.0, le=1.0)
    max_detections: int = Field(100, ge=1)

    @property
    def resolved_streams(self) -> int:
        """``streams``, or its default: one per thread, at most 4."""
        return self.streams if self.streams is not None else max(1, min(self.threads, 4))


class ModelLoadError(RuntimeError):
    """A model file cannot be used: missing, not a model, or a shape this agent cannot decode."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


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


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def resolve_runtime(runtime: Runtime) -> Literal["onnxruntime", "openvino"]:
    """``auto`` means OpenVINO where it is installed (often faster on Intel CPUs), else ONNX Runtime."""
    if runtime == "auto":
        return "openvino" if openvino_available() else "onnxruntime"
    return runtime


def load_detector(
    model_path: Path,
    *,
    model_version: str,
    cfg: DetectorConfig,
    imgsz: int | None = None,
) -> Detector:
    """Load a YOLOv8-style ONNX model with the runtime ``cfg`` asks for.

    imgsz: the input size (longer side); taken from the model's input shape when it is static
    (a different value then is an error), else from this argument, else the export metadata.
    Raises ModelLoadError naming the file when it cannot be used.
    """
    # Imported here so that importing the config does not load a runtime.
    from edge_agent.detector.yolo import YoloDetector

    model_path = Path(model_path)
    if not model_path.is_file():
        raise ModelLoadError(model_path, "no such model file; check the path or let model sync download it")
    runtime = resolve_runtime(cfg.runtime)
    if runtime == "openvino":
        if not openvino_available():
            raise ModelLoadError(
                model_path, "runtime 'openvino' was asked for but openvino is not installed: "
                "pip install 'maskops[openvino]' or set detector.runtime to 'onnxruntime' or 'auto'"
            )
        from edge_agent.detector.openvino_runtime import OpenVinoBackend

        backend = OpenVinoBackend(model_path, threads=cfg.threads, streams=cfg.resolved_streams)
    else:
        from edge_agent.detector.onnx_runtime import OnnxRuntimeBackend

        backend = OnnxRuntimeBackend(model_path, threads=cfg.threads, streams=cfg.resolved_streams)
    return YoloDetector(
        backend, model_version=model_version, cfg=cfg, imgsz=imgsz, model_path=str(model_path)
    )

