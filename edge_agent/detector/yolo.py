"""The YOLOv8 detector: letterbox, one forward pass on a backend, decode with NMS, map back.

The backend (ONNX Runtime or OpenVINO) only runs the graph; everything around it is numpy and
OpenCV and identical for both, so a switch of runtime cannot change what the agent reports.

``submit`` letterboxes a frame and starts its forward pass; the returned ``PendingDetection``
decodes when asked. A camera worker keeps up to ``streams`` frames in flight that way; ``detect``
is the one-frame-at-a-time form of the same.
"""

from __future__ import annotations

import ast
import threading
import time

import numpy as np

from edge_agent.detector.decode import decode_yolov8, normalise_scores
from edge_agent.detector.letterbox import DEFAULT_STRIDE, LetterboxInfo, fit_input_shape, letterbox_scaled
from edge_agent.detector.types import (
    DetectionResult,
    DetectorConfig,
    InferenceBackend,
    ModelLoadError,
    PendingForward,
)
from maskops_contracts import CLASS_NAMES, Detection

DEFAULT_IMGSZ = 640


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


def _metadata_stride(metadata: dict[str, str]) -> int:
    parsed = _metadata_value(metadata, "stride")
    return parsed if isinstance(parsed, int) and parsed > 0 else DEFAULT_STRIDE


class PendingDetection:
    """One frame whose forward pass was started; ``result`` waits, decodes and maps boxes back.

    ``scaled``: the frame as the letterbox scaled it, before padding (the camera worker starts the
    frame's thumbnail from it when that gives the same pixels: ``Frame.thumbnail_from_scaled``)."""

    __slots__ = ("_detector", "_forward", "_info", "_prep_ms", "scaled")

    def __init__(
        self,
        detector: YoloDetector,
        info: LetterboxInfo,
        forward: PendingForward,
        prep_ms: float,
        scaled: np.ndarray | None = None,
    ) -> None:
        self._detector, self._info, self._forward, self._prep_ms = detector, info, forward, prep_ms
        self.scaled = scaled

    def done(self) -> bool:
        """True when ``result`` would not wait for the forward pass."""
        return self._forward.done()

    def result(self) -> DetectionResult:
        output, forward_ms = self._forward.result()
        start = time.perf_counter()
        detections = self._detector._decode(output, self._info)
        decode_ms = (time.perf_counter() - start) * 1000.0
        return DetectionResult(detections=detections, inference_ms=self._prep_ms + forward_ms + decode_ms)


class YoloDetector:
    """A YOLOv8 ONNX export behind the ``Detector`` protocol.

    A model exported with a fixed input size gets every frame letterboxed to that size; one
    with a dynamic height and width gets the smallest stride-aligned rectangle around the frame
    scaled to ``imgsz`` (``fit_input_shape``).
    """

    def __init__(
        self,
        backend: InferenceBackend,
        *,
        model_version: str,
        cfg: DetectorConfig,
        imgsz: int | None = None,
        model_path: str = "<model>",
        frame_sizes: frozenset[tuple[int, int]] | None = None,
    ) -> None:
        """frame_sizes: the (height, width) of the frames it will run on, where known (a
        predecessor's): the class check then runs on the input one of them needs, so a dynamic
        model compiles no input that no frame uses (the square ``imgsz`` otherwise)."""
        self.model_version = model_version
        self.cfg = cfg
        self.runtime = backend.name
        self.streams = backend.streams
        self._backend = backend
        self._path = model_path
        self._fixed_shape, self.imgsz = self._resolve_input(imgsz)
        self._stride = _metadata_stride(backend.metadata)
        self._shapes: dict[tuple[int, int], tuple[int, int]] = {}  # frame (h, w) -> input (h, w)
        self._seen: set[tuple[int, int]] = set()  # frame sizes of real frames (not warm-up ones)
        self._seen_lock = threading.Lock()
        self._column_order, self.class_names = self._resolve_classes(self._probe_shape(frame_sizes))
        # After the first pass, so a backend that compiles lazily has compiled (and checked) it.
        self.precision = backend.precision

    @property
    def backend(self) -> InferenceBackend:
        """The runtime backend (benchmarks time its forward pass alone)."""
        return self._backend

    @property
    def dynamic(self) -> bool:
        """True when the model takes any stride-aligned input height and width."""
        return self._fixed_shape is None

    @property
    def frame_sizes(self) -> frozenset[tuple[int, int]]:
        """The (height, width) of every real frame size this detector has run on."""
        with self._seen_lock:
            return frozenset(self._seen)

    def input_shape_for(self, frame_hw: tuple[int, int]) -> tuple[int, int]:
        """The (height, width) model input a frame of ``frame_hw`` is letterboxed to."""
        if self._fixed_shape is not None:
            return self._fixed_shape
        shape = self._shapes.get(frame_hw)
        if shape is None:
            shape = fit_input_shape(frame_hw, self.imgsz, self._stride)
            self._shapes[frame_hw] = shape  # a dict store is atomic; a race only computes it twice
        return shape

    def _resolve_input(self, requested: int | None) -> tuple[tuple[int, int] | None, int]:
        shape = self._backend.input_shape
        if len(shape) != 4 or shape[1] not in (3, None):
            raise ModelLoadError(self._path, f"expected an NCHW image input (1, 3, H, W), got {list(shape)}")
        height, width = shape[2], shape[3]
        if height is not None and width is not None:
            if requested is not None and requested != max(height, width):
                raise ModelLoadError(
                    self._path,
                    f"the model was exported for imgsz {max(height, width)}, not {requested}; "
                    "drop imgsz or re-export",
                )
            return (int(height), int(width)), int(max(height, width))
        if (height is None) != (width is None):
            raise ModelLoadError(
                self._path, f"expected both input sides fixed or both dynamic, got {list(shape)}"
            )
        return None, requested or _metadata_imgsz(self._backend.metadata) or DEFAULT_IMGSZ

    def _probe_shape(self, frame_sizes: frozenset[tuple[int, int]] | None) -> tuple[int, int]:
        """The input the class check runs on: the fixed one, else what the smallest known frame
        size needs, else a square ``imgsz``."""
        if self._fixed_shape is not None:
            return self._fixed_shape
        if frame_sizes:
            return self.input_shape_for(min(frame_sizes))
        return self.imgsz, self.imgsz

    def _resolve_classes(self, probe: tuple[int, int]) -> tuple[list[int], tuple[str, ...]]:
        """Which output column holds each of CLASS_NAMES; checked with one dummy pass."""
        height, width = probe
        try:
            out, _ = self._backend.submit(np.full((height, width, 3), 114, dtype=np.uint8)).result()
        except ModelLoadError:
            raise
        except Exception as err:  # a runtime error here means the graph does not fit this input
            raise ModelLoadError(self._path, f"the model fails on a {height}x{width} input ({err})") from err
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
        return [names.index(name) for name in CLASS_NAMES], CLASS_NAMES

    def warmup(self, n: int = 2, frame_sizes: frozenset[tuple[int, int]] | None = None) -> None:
        """Run ``n`` grey frames of each size in ``frame_sizes`` (default: a square ``imgsz``), so
        the first real frame does not pay for lazy initialisation or compiling a new input shape.

        With ``frame_sizes`` given (the sizes real frames have), the backend keeps only the
        inputs those need and releases the rest (the square input the class check ran on)."""
        for height, width in sorted(frame_sizes or {(self.imgsz, self.imgsz)}):
            dummy = np.full((height, width, 3), 114, dtype=np.uint8)
            for _ in range(n):
                self._submit(dummy).result()
        if frame_sizes:
            self._backend.retain_shapes(self._input_shapes(frame_sizes | self.frame_sizes))

    def _input_shapes(self, frame_sizes: frozenset[tuple[int, int]]) -> set[tuple[int, int]]:
        return {self.input_shape_for(size) for size in frame_sizes}

    def submit(self, image_bgr: np.ndarray) -> PendingDetection:
        """Letterbox ``image_bgr`` (BGR uint8, (H, W, 3)) and start its forward pass."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 (H, W, 3) image, got {image_bgr.dtype} {image_bgr.shape}")
        size = (image_bgr.shape[0], image_bgr.shape[1])
        if size not in self._seen:
            with self._seen_lock:
                self._seen.add(size)
                # A new real frame size: inputs only warm-up used (the square probe) are
                # released before this size compiles, so the two are never held at once.
                self._backend.retain_shapes(self._input_shapes(frozenset(self._seen)))
        return self._submit(image_bgr)

    def _submit(self, image_bgr: np.ndarray) -> PendingDetection:
        start = time.perf_counter()
        boxed, info, scaled = letterbox_scaled(image_bgr, self.input_shape_for(image_bgr.shape[:2]))
        prep_ms = (time.perf_counter() - start) * 1000.0
        return PendingDetection(self, info, self._backend.submit(boxed), prep_ms, scaled)

    def detect(self, image_bgr: np.ndarray) -> DetectionResult:
        return self.submit(image_bgr).result()

    def _decode(self, output: np.ndarray, info: LetterboxInfo) -> list[Detection]:
        raw = decode_yolov8(
            output,
            conf_threshold=self.cfg.conf_threshold,
            iou_threshold=self.cfg.iou_threshold,
            max_detections=self.cfg.max_detections,
        )
        detections: list[Detection] = []
        order = self._column_order
        for box, model_scores in zip(raw.boxes, raw.scores, strict=True):
            x1, y1, x2, y2 = info.box_to_original(box)
            # A box entirely in the padding collapses when clipped to the frame: nothing to report.
            if x2 - x1 < 1e-3 or y2 - y1 < 1e-3:
                continue
            scores = [model_scores[i] for i in order]  # contract order
            confidence = max(scores)
            detections.append(
                Detection(
                    box=(x1, y1, x2, y2),
                    class_name=self.class_names[scores.index(confidence)],
                    confidence=min(1.0, max(0.0, confidence)),
                    class_probs=tuple(min(1.0, max(0.0, p)) for p in normalise_scores(scores)),
                )
            )
        return detections
