"""What the rest of the agent sees of a detector: its config, its result and a small Protocol.

The camera worker only calls ``load_detector`` and ``Detector.submit``/``detect``; which
runtime runs the model (ONNX Runtime or OpenVINO) is an implementation detail chosen here.
"""

from __future__ import annotations

import importlib.util
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


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def resolve_runtime(runtime: Runtime) -> Literal["onnxruntime", "openvino"]:
    """``auto`` means OpenVINO where it is installed (often faster on Intel CPUs), else ONNX Runtime."""
    if runtime == "auto":
        return "openvino" if openvino_available() else "onnxruntime"
    return runtime


def offered_precisions(runtime: Runtime) -> tuple[str, ...]:
    """The precisions ``runtime`` runs a float32 model at on this machine's CPU.

    "fp32" always; "bf16" with OpenVINO where the CPU's OPTIMIZATION_CAPABILITIES include BF16
    (AVX512_BF16 or AMX). ONNX Runtime's CPU provider runs a float32 graph in float32 only.
    Empty for OpenVINO where it is not installed. The platform's evaluation measures each of
    these for a release, so cameras on the same kind of CPU may run them.
    """
    resolved = resolve_runtime(runtime)
    if resolved == "onnxruntime":
        return ("fp32",)
    if resolved != "openvino":
        raise ValueError(f"unknown runtime {runtime!r}; known: auto, onnxruntime, openvino")
    if not openvino_available():
        return ()
    from edge_agent.detector.openvino_runtime import cpu_offers_bf16

    return ("fp32", "bf16") if cpu_offers_bf16() else ("fp32",)


def choose_precision(
    requested: Precision,
    *,
    runtime: str,
    offered: tuple[str, ...],
    measured: tuple[str, ...] | None,
    model_path: Path | str = "<model>",
) -> Literal["fp32", "bf16"]:
    """The precision a model runs at: ``requested``, checked against what this box ``offered``
    and what the release gate ``measured`` on ``runtime`` (None: the model came with no release).

    A released model runs only at a precision the gate measured on this runtime, fp32 included
    (the platform lists only what it measured and found good, per runtime; a manifest from before
    variants means fp32). A model given by path has no gate: ``auto`` runs it at fp32, and an
    explicit precision is the operator's call. ``auto`` is the fastest precision both offered and
    allowed. Never falls back silently: raises PrecisionUnavailable naming what is offered and
    what was measured.
    """
    allowed = ("fp32",) if measured is None else measured
    if requested == "auto" and offered:
        for precision in FASTEST_FIRST:
            if precision in offered and precision in allowed:
                return precision
        raise PrecisionUnavailable(
            model_path,
            "precision_not_measured",
            f"the release gate measured {_listing(measured)} on {runtime} for this model, and this box "
            f"offers {_listing(offered)} on {runtime}: nothing to run; release a model measured on "
            f"{runtime}, or set detector.runtime to a runtime it was measured on",
        )
    if requested not in offered:
        raise PrecisionUnavailable(
            model_path,
            "precision_not_offered",
            f"detector.precision {requested} is not offered by {runtime} on this CPU, which offers "
            f"{_listing(offered)}; set detector.precision to auto or one of those",
        )
    if measured is not None and requested not in measured:
        raise PrecisionUnavailable(
            model_path,
            "precision_not_measured",
            f"detector.precision {requested}: the release gate measured {_listing(measured)} on "
            f"{runtime} for this model, not {requested}; a camera runs only a measured precision (set "
            f"detector.precision to auto, or release a model measured at {requested} on {runtime})",
        )
    return requested  # type: ignore[return-value]


def _listing(precisions: tuple[str, ...] | None) -> str:
    return ", ".join(precisions) if precisions else "nothing"


def load_detector(
    model_path: Path,
    *,
    model_version: str,
    cfg: DetectorConfig,
    imgsz: int | None = None,
    measured_precisions: tuple[str, ...] | None = None,
) -> Detector:
    """Load a YOLOv8-style ONNX model with the runtime and precision ``cfg`` asks for.

    imgsz: the input size (longer side); taken from the model's input shape when it is static
    (a different value then is an error), else from this argument, else the export metadata.
    measured_precisions: what the release gate measured the model at on the runtime ``cfg``
    resolves to (``ModelRef.measured_precisions``); None for a model that came with no release.
    Raises ModelLoadError naming the file when it cannot be used (PrecisionUnavailable when the
    precision cannot be run: see ``choose_precision``).
    """
    # Imported here so that importing the config does not load a runtime.
    from edge_agent.detector.yolo import YoloDetector

    model_path = Path(model_path)
    if not model_path.is_file():
        raise ModelLoadError(model_path, "no such model file; check the path or let model sync download it")
    runtime = resolve_runtime(cfg.runtime)
    if runtime == "openvino" and not openvino_available():
        raise ModelLoadError(
            model_path, "runtime 'openvino' was asked for but openvino is not installed: "
            "pip install 'maskops[openvino]' or set detector.runtime to 'onnxruntime' or 'auto'"
        )
    precision = choose_precision(
        cfg.precision,
        runtime=runtime,
        offered=offered_precisions(runtime),
        measured=measured_precisions,
        model_path=model_path,
    )
    if runtime == "openvino":
        from edge_agent.detector.openvino_runtime import OpenVinoBackend

        backend = OpenVinoBackend(
            model_path, threads=cfg.threads, streams=cfg.resolved_streams, precision=precision
        )
    else:
        from edge_agent.detector.onnx_runtime import OnnxRuntimeBackend

        backend = OnnxRuntimeBackend(
            model_path, threads=cfg.threads, streams=cfg.resolved_streams, precision=precision
        )
    return YoloDetector(
        backend, model_version=model_version, cfg=cfg, imgsz=imgsz, model_path=str(model_path)
    )

