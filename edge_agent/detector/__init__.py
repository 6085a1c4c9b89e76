"""Object detection on the edge: YOLOv8 ONNX models on ONNX Runtime or OpenVINO, without torch."""

from edge_agent.detector.base import (
    DetectionResult,
    Detector,
    DetectorConfig,
    ModelLoadError,
    PrecisionUnavailable,
    choose_precision,
    load_detector,
    offered_precisions,
    resolve_runtime,
)

__all__ = [
    "DetectionResult",
    "Detector",
    "DetectorConfig",
    "ModelLoadError",
    "PrecisionUnavailable",
    "choose_precision",
    "load_detector",
    "offered_precisions",
    "resolve_runtime",
]
