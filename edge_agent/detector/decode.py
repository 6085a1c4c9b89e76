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


#: Up to this many candidate boxes NMS computes all pairwise IoUs at once (a 256 x 256 float32
#: matrix is 256 KiB); beyond it (low confidence thresholds, as in evaluation) it compares one
#: box with the rest at a time, so memory stays linear. Both give the same boxes.
PAIRWISE_NMS_MAX = 256


def pairwise_iou(boxes: np.ndarray) -> np.ndarray:
    """(M, M) IoUs of (M, 4) xyxy boxes; row i holds ``box_iou(boxes[i], boxes)`` exactly (the
    same float operations in the same order)."""
    x1 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(areas[:, None] + areas[None, :] - inter, 1e-9)


def _nms_pairwise(boxes: np.ndarray, order: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS over ``order`` with every IoU computed up front: one boolean OR a kept box."""
    # "not <=" rather than ">": a NaN IoU suppresses, as in the one-at-a-time loop
    overlaps = ~(pairwise_iou(boxes[order]) <= iou_threshold)
    suppressed = np.zeros(order.size, dtype=bool)
    keep: list[int] = []
    for i in range(order.size):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlaps[i]
    return order[np.asarray(keep, dtype=np.int64)]


def _nms_sequential(boxes: np.ndarray, order: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS over ``order`` comparing one kept box with the rest at a time (linear memory)."""
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def nms(boxes: np.ndarray, confidences: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS; indices of kept boxes, highest confidence first."""
    order = np.argsort(-confidences, kind="stable")
    if order.size <= PAIRWISE_NMS_MAX:
        return _nms_pairwise(boxes, order, iou_threshold)
    return _nms_sequential(boxes, order, iou_threshold)


def class_aware_nms(
    boxes: np.ndarray, confidences: np.ndarray, class_ids: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """NMS within each class (boxes of different classes never suppress each other).

    Uses the coordinate-offset trick: shifting each class's boxes far apart makes one NMS
    pass equal to one pass per class.
    """
    if boxes.shape[0] <= 1:  # nothing to suppress
        return np.arange(boxes.shape[0], dtype=np.int64)
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
    # Threshold on the (nc, N) rows as the runtime lays them out (contiguous), and transpose only
    # the few candidates that pass: a camera frame has a handful of 1,680-8,400 anchors.
    head = output[0]
    conf = head[4:].max(axis=0)
    candidates = np.flatnonzero(conf >= conf_threshold)
    if candidates.size == 0:
        nc = head.shape[0] - 4
        return RawDetections(np.zeros((0, 4), np.float32), np.zeros((0, nc), np.float32))
    preds = head[:, candidates].T  # (K, 4 + nc)
    scores, conf = preds[:, 4:], conf[candidates]
    cx, cy, w, h = preds[:, 0], preds[:, 1], preds[:, 2], preds[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    keep = class_aware_nms(boxes, conf, scores.argmax(axis=1), iou_threshold)[:max_detections]
    return RawDetections(boxes[keep], scores[keep].astype(np.float32))


def normalise_scores(scores: np.ndarray) -> np.ndarray:
    """Raw per-class scores (K, nc) to probability vectors that sum to 1."""
    total = scores.sum(axis=1, keepdims=True)
    return scores / np.maximum(total, 1e-12)
