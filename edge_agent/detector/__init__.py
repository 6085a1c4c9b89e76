"""Object detection on the edge: YOLOv8 ONNX models on ONNX Runtime or OpenVINO, without torch.

``types`` holds the shared types and protocols (it imports nothing of this package), ``base``
chooses the runtime and precision and loads a model, the backends import only ``types`` (and
leaf helpers: ``letterbox``, ``onnx_metadata``).
"""

from edge_agent.detector.base import (
    choose_precision,
    load_detector,
    offered_precisions,
    openvino_available,
    resolve_runtime,
)
from edge_agent.detector.types import (
    DetectionResult,
    Detector,
    DetectorConfig,
    ModelLoadError,
    PendingResult,
    PrecisionUnavailable,
)

__all__ = [
    "DetectionResult",
    "Detector",
    "DetectorConfig",
    "ModelLoadError",
    "PendingResult",
    "PrecisionUnavailable",
    "choose_precision",
    "load_detector",
    "offered_precisions",
    "openvino_available",
    "resolve_runtime",
]
