"""Decode a YOLOv8 ONNX output into boxes that keep their full class-score vector.

A YOLOv8 detect head exported to ONNX gives one tensor of shape (1, 4 + nc, N): for each of
N anchors a box (cx, cy, w, h) in input pixels and nc independent sigmoid class scores.
The trainer's own NMS keeps only the winning class; the sampler needs all of them (margin and
entropy sampling), so NMS is done here in numpy and every kept box carries its score vector.

On a kept box: ``confidence`` is the top raw class score (what the YOLOv8 trainer reports), and
``class_probs`` are the raw scores normalised to sum to 1 (a distribution over classes given
that there is an object).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class RawDetections:
    """Kept boxes before mapping to the frame. boxes: (K, 4) xyxy; scores: (K, nc) raw scores."""

    boxes: np.ndarray
    scores: np.ndarray

    @property
    def class_ids(self) -> np.ndarray:
        return self.scores.argmax(axis=1)

    @property
    def confidences(self) -> np.ndarray:
        return self.scores.max(axis=1)

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with (M, 4) boxes."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, confidences: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS; indices of kept boxes, highest confidence first."""
    order = np.argsort(-confidences, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def class_aware_nms(
    boxes: np.ndarray, confidences: np.ndarray, class_ids: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """NMS within each class (boxes of different classes never suppress each other).

    Uses the coordinate-offset trick: shifting each class's boxes far apart makes one NMS
    pass equal to one pass per class.
    """
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    span = float(boxes.max() - boxes.min()) + 1.0
    offset = span * class_ids.astype(np.float32)[:, None]
    return nms(boxes + offset, confidences, iou_threshold)


def decode_yolov8(
    output: np.ndarray,
    *,
    conf_threshold: float,
    iou_threshold: float,
    max_detections: int,
) -> RawDetections:
    """Boxes (input pixels, xyxy) and score vectors kept from a (1, 4 + nc, N) output."""
    if output.ndim != 3 or output.shape[0] != 1 or output.shape[1] < 5:
        raise ValueError(f"expected a YOLOv8 output of shape (1, 4 + nc, N), got {output.shape}")
    preds = output[0].T  # (N, 4 + nc)
    scores = preds[:, 4:]
    conf = scores.max(axis=1)
    mask = conf >= conf_threshold
    if not mask.any():
        nc = scores.shape[1]
        return RawDetections(np.zeros((0, 4), np.float32), np.zeros((0, nc), np.float32))
    preds, scores, conf = preds[mask], scores[mask], conf[mask]
    cx, cy, w, h = preds[:, 0], preds[:, 1], preds[:, 2], preds[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    keep = class_aware_nms(boxes, conf, scores.argmax(axis=1), iou_threshold)[:max_detections]
    return RawDetections(boxes[keep], scores[keep].astype(np.float32))


def normalise_scores(scores: np.ndarray) -> np.ndarray:
    """Raw per-class scores (K, nc) to probability vectors that sum to 1."""
    total = scores.sum(axis=1, keepdims=True)
    return scores / np.maximum(total, 1e-12)
