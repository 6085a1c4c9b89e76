"""What the rest of the agent sees of a detector: which runtime runs it, at which precision, and
``load_detector``.

The camera worker only calls ``load_detector`` and ``Detector.submit``/``detect``; which
runtime runs the model (ONNX Runtime or OpenVINO) is an implementation detail chosen here.
The shared types (``DetectorConfig``, ``ModelLoadError``, ``DetectionResult``, the ``Detector``
protocol) live in ``edge_agent.detector.types`` and are re-exported here; the backends import
only those, never this module, so there is no import cycle. The backends are imported inside the
functions that need them, so importing the config does not load a runtime.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from edge_agent.detector.types import (
    FASTEST_FIRST,
    DetectionResult,
    Detector,
    DetectorConfig,
    ModelLoadError,
    PendingResult,
    Precision,
    PrecisionUnavailable,
    Runtime,
)

__all__ = [
    "FASTEST_FIRST",
    "DetectionResult",
    "Detector",
    "DetectorConfig",
    "ModelLoadError",
    "PendingResult",
    "Precision",
    "PrecisionUnavailable",
    "Runtime",
    "choose_precision",
    "load_detector",
    "offered_precisions",
    "openvino_available",
    "resolve_runtime",
]


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
    frame_sizes: frozenset[tuple[int, int]] | None = None,
) -> Detector:
    """Load a YOLOv8-style ONNX model with the runtime and precision ``cfg`` asks for.

    imgsz: the input size (longer side); taken from the model's input shape when it is static
    (a different value then is an error), else from this argument, else the export metadata.
    measured_precisions: what the release gate measured the model at on the runtime ``cfg``
    resolves to (``ModelRef.measured_precisions``); None for a model that came with no release.
    frame_sizes: the (height, width) of the frames it will run on, where known (model sync passes
    the cameras' current ones): loading then compiles only the inputs they need.
    Raises ModelLoadError naming the file when it cannot be used (PrecisionUnavailable when the
    precision cannot be run: see ``choose_precision``).
    """
    # Imported here so that importing the config does not load a runtime (nor OpenCV).
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
        backend,
        model_version=model_version,
        cfg=cfg,
        imgsz=imgsz,
        model_path=str(model_path),
        frame_sizes=frame_sizes,
    )

