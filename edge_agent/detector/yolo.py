"""The YOLOv8 detector: letterbox, one forward pass on a backend, decode with NMS, map back.

The backend (ONNX Runtime or OpenVINO) only runs the graph; everything around it is numpy and
OpenCV and identical for both, so a switch of runtime cannot change what the agent reports.
"""

from __future__ import annotations

import ast
import time
from typing import Protocol

import numpy as np

from edge_agent.detector.base import DetectionResult, DetectorConfig, ModelLoadError
from edge_agent.detector.decode import decode_yolov8, normalise_scores
from edge_agent.detector.letterbox import letterbox, to_input_tensor
from maskops_contracts import CLASS_NAMES, Detection

DEFAULT_IMGSZ = 640


class InferenceBackend(Protocol):
    """A compiled graph with one NCHW float input and the YOLOv8 output first."""

    name: str
    input_shape: tuple[int | None, ...]
    metadata: dict[str, str]

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """The first output for a (1, 3, S, S) float32 input."""
        ...


def _metadata_value(metadata: dict[str, str], key: str) -> object:
    """A Python-literal value the exporter wrote into the ONNX metadata, or None."""
    raw = metadata.get(key)
    if not raw:
        return None
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return None


def _metadata_names(metadata: dict[str, str]) -> tuple[str, ...] | None:
    parsed = _metadata_value(metadata, "names")
    if isinstance(parsed, dict):
        return tuple(str(parsed[k]) for k in sorted(parsed))
    if isinstance(parsed, list | tuple):
        return tuple(str(n) for n in parsed)
    return None


def _metadata_imgsz(metadata: dict[str, str]) -> int | None:
    parsed = _metadata_value(metadata, "imgsz")
    if isinstance(parsed, int):
        return parsed
    if isinstance(parsed, list | tuple) and parsed and all(isinstance(v, int) for v in parsed):
        return int(max(parsed))
    return None


class YoloDetector:
    """A YOLOv8 ONNX export behind the ``Detector`` protocol."""

    def __init__(
        self,
        backend: InferenceBackend,
        *,
        model_version: str,
        cfg: DetectorConfig,
        imgsz: int | None = None,
        model_path: str = "<model>",
    ) -> None:
        self.model_version = model_version
        self.cfg = cfg
        self.runtime = backend.name
        self._backend = backend
        self._path = model_path
        self.imgsz = self._resolve_imgsz(imgsz)
        self._column_order, self.class_names = self._resolve_classes()

    def _resolve_imgsz(self, requested: int | None) -> int:
        shape = self._backend.input_shape
        if len(shape) != 4 or shape[1] not in (3, None):
            raise ModelLoadError(self._path, f"expected an NCHW image input (1, 3, S, S), got {list(shape)}")
        height, width = shape[2], shape[3]
        if height is not None and width is not None:
            if height != width:
                raise ModelLoadError(self._path, f"expected a square input, got {height}x{width}")
            if requested is not None and requested != height:
                raise ModelLoadError(
                    self._path,
                    f"the model was exported for imgsz {height}, not {requested}; drop imgsz or re-export",
                )
            return int(height)
        return requested or _metadata_imgsz(self._backend.metadata) or DEFAULT_IMGSZ

    def _resolve_classes(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """Which output column holds each of CLASS_NAMES; checked with one dummy pass."""
        try:
            out = self._backend.run(np.zeros((1, 3, self.imgsz, self.imgsz), dtype=np.float32))
        except Exception as err:  # a runtime error here means the graph does not fit this input
            raise ModelLoadError(self._path, f"the model fails on a {self.imgsz}px input ({err})") from err
        if out.ndim != 3 or out.shape[0] != 1 or out.shape[1] < 5:
            raise ModelLoadError(
                self._path, f"expected a YOLOv8 detect output (1, 4 + nc, N), got {list(out.shape)}"
            )
        n_classes = out.shape[1] - 4
        names = _metadata_names(self._backend.metadata)
        if names is None:
            names = CLASS_NAMES if n_classes == len(CLASS_NAMES) else None
        if names is None or len(names) != n_classes or set(names) != set(CLASS_NAMES):
            raise ModelLoadError(
                self._path,
                f"the model's classes {list(names or [])} (nc={n_classes}) are not the maskops classes "
                f"{list(CLASS_NAMES)}; train with these names",
            )
        # Contract order for class_probs, whatever order the model was trained in.
        order = np.asarray([names.index(name) for name in CLASS_NAMES], dtype=np.int64)
        return order, CLASS_NAMES

    def warmup(self, n: int = 2) -> None:
        dummy = np.full((self.imgsz, self.imgsz, 3), 114, dtype=np.uint8)
        for _ in range(n):
            self.detect(dummy)

    def detect(self, image_bgr: np.ndarray) -> DetectionResult:
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 (H, W, 3) image, got {image_bgr.dtype} {image_bgr.shape}")
        start = time.perf_counter()
        boxed, info = letterbox(image_bgr, self.imgsz)
        output = self._backend.run(to_input_tensor(boxed))
        raw = decode_yolov8(
            output,
            conf_threshold=self.cfg.conf_threshold,
            iou_threshold=self.cfg.iou_threshold,
            max_detections=self.cfg.max_detections,
        )
        detections: list[Detection] = []
        if len(raw):
            scores = raw.scores[:, self._column_order]
            boxes = info.to_original(raw.boxes).tolist()
            probs = normalise_scores(scores).tolist()
            top = scores.argmax(axis=1).tolist()
            conf = scores.max(axis=1).tolist()
            for box, p, cls, c in zip(boxes, probs, top, conf, strict=True):
                # A box entirely in the padding collapses when clipped to the frame: nothing to report.
                if box[2] - box[0] < 1e-3 or box[3] - box[1] < 1e-3:
                    continue
                detections.append(
                    Detection(
                        box=tuple(box),
                        class_name=self.class_names[cls],
                        confidence=min(1.0, max(0.0, c)),
                        class_probs=tuple(min(1.0, max(0.0, v)) for v in p),
                    )
                )
        return DetectionResult(detections=detections, inference_ms=(time.perf_counter() - start) * 1000.0)
