"""Per-frame image statistics for telemetry: what the drift report compares over time.

Computed on a copy scaled (``shrink``) so its longer side is at most ``THUMBNAIL_SIDE`` pixels
(the frame's own ``thumbnail()``): cheap on a camera box, and comparable between cameras of
different resolutions (blur, the variance of the Laplacian, depends on scale, so every frame is
measured at the same one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from edge_agent.detector.base import DetectionResult
from edge_agent.frames import THUMBNAIL_SIDE, Frame
from edge_agent.shrink import shrink
from maskops_contracts import TelemetryRow


@dataclass(frozen=True, slots=True)
class FrameStats:
    """brightness: grey mean, contrast: grey std, blur: variance of Laplacian; colours 0..255."""

    brightness: float
    contrast: float
    blur: float
    mean_r: float
    mean_g: float
    mean_b: float
    saturation: float


def compute_frame_stats(image_bgr: np.ndarray) -> FrameStats:
    """Statistics of a BGR uint8 (H, W, 3) image (pass ``frame.thumbnail()`` to reuse its copy).

    Means are taken from OpenCV's channel sums (``sumElems``: one vectorised pass, where
    ``cv2.mean`` of a 3-channel image is several times slower), and the blur from the sum and the
    sum of squares of a 16-bit Laplacian, both exact integers in float64 (|values| <= 1020): the
    same figures as numpy's mean and var in float64, to the last bits, at a fraction of the cost
    (bench/edge_throughput.py prints the per-stage costs)."""
    small = shrink(image_bgr, THUMBNAIL_SIDE)
    pixels = float(small.shape[0] * small.shape[1])
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    mean, std = cv2.meanStdDev(grey)
    laplacian = cv2.Laplacian(grey, cv2.CV_16S)
    lap_sum = float(cv2.sumElems(laplacian)[0])
    lap_squares = float(cv2.norm(laplacian, cv2.NORM_L2SQR))
    blur = max(0.0, (lap_squares - lap_sum * lap_sum / pixels) / pixels)
    sum_b, sum_g, sum_r = (float(v) for v in cv2.sumElems(small)[:3])
    saturation = float(cv2.sumElems(cv2.cvtColor(small, cv2.COLOR_BGR2HSV))[1]) / pixels
    return FrameStats(
        brightness=float(mean[0, 0]),
        contrast=float(std[0, 0]),
        blur=blur,
        mean_r=sum_r / pixels,
        mean_g=sum_g / pixels,
        mean_b=sum_b / pixels,
        saturation=saturation,
    )


def telemetry_row(
    frame: Frame,
    stats: FrameStats,
    result: DetectionResult,
    model_version: str,
    *,
    runtime: str | None = None,
    precision: str | None = None,
) -> TelemetryRow:
    """The telemetry row of one analysed frame (confidences are 0 when nothing was found).

    runtime and precision: how the detector ran it (None without a detector)."""
    confidences = [d.confidence for d in result.detections]
    counts = Counter(d.class_name for d in result.detections)
    return TelemetryRow(
        camera_id=frame.camera_id,
        ts=frame.captured_at,
        model_version=model_version,
        brightness=stats.brightness,
        contrast=stats.contrast,
        blur=stats.blur,
        mean_r=stats.mean_r,
        mean_g=stats.mean_g,
        mean_b=stats.mean_b,
        saturation=stats.saturation,
        num_detections=len(confidences),
        mean_confidence=float(sum(confidences) / len(confidences)) if confidences else 0.0,
        min_confidence=float(min(confidences)) if confidences else 0.0,
        class_counts=dict(counts),
        inference_ms=float(result.inference_ms),
        runtime=runtime,
        precision=precision,
    )
