"""Decode a YOLOv8 ONNX output into boxes that keep their full class-score vector.

A YOLOv8 detect head exported to ONNX gives one tensor of shape (1, 4 + nc, N): for each of
N anchors a box (cx, cy, w, h) in input pixels and nc independent sigmoid class scores.
The trainer's own NMS keeps only the winning class; the sampler needs all of them (margin and
entropy sampling), so NMS is done here and every kept box carries its score vector.

Two engines run the same greedy class-aware NMS, chosen by the number of candidates (anchors
over the confidence threshold). A camera frame has a handful: up to ``SMALL_NMS_MAX`` they are
suppressed in plain Python floats, because a numpy call costs more than the arithmetic of a few
boxes, and far more right after a forward pass has evicted the caches (measured on the INT8
YOLOv8n at 320, 5 candidates a frame: 0.14 ms against 0.43 ms). More candidates (evaluation runs
at a confidence threshold near 0) take numpy. Both compute in float64 with the same operations
in the same order, so they keep the same boxes bit for bit
(``tests/edge_agent/test_detector_decode.py``).

On a kept box: ``confidence`` is the top raw class score (what the YOLOv8 trainer reports), and
``class_probs`` are the raw scores normalised to sum to 1 (a distribution over classes given
that there is an object).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class RawDetections:
    """Kept boxes before mapping to the frame, highest confidence first, as Python floats.

    boxes: K lists [x1, y1, x2, y2] in model-input pixels; scores: K lists of nc raw scores in
    the model's column order."""

    boxes: list[list[float]]
    scores: list[list[float]]

    @property
    def class_ids(self) -> list[int]:
        return [row.index(max(row)) for row in self.scores]

    @property
    def confidences(self) -> list[float]:
        return [max(row) for row in self.scores]

    def __len__(self) -> int:
        return len(self.boxes)


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with (M, 4) boxes."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), xyxy -> (N, M); 0 for a pair
    whose union is empty. The one matrix of two box sets: the shadow comparison matches the two
    models' boxes with it, the platform's evaluation ground truth with detections."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0.0, None).prod(axis=2)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


#: Up to this many candidates NMS runs in plain Python floats (``_nms_small``).
SMALL_NMS_MAX = 32
#: Up to this many candidate boxes numpy NMS computes all pairwise IoUs at once (a 256 x 256
#: matrix); beyond it (low confidence thresholds, as in evaluation) it compares one box with the
#: rest at a time, so memory stays linear. Both give the same boxes.
PAIRWISE_NMS_MAX = 256


def pairwise_iou(boxes: np.ndarray) -> np.ndarray:
    """(M, M) IoUs of (M, 4) xyxy boxes; row i holds ``box_iou(boxes[i], boxes)`` exactly (the
    same float operations in the same order)."""
    x1 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(areas[:, None] + areas[None, :] - inter, 1e-9)


def _nms_pairwise(
    boxes: np.ndarray, order: np.ndarray, iou_threshold: float, class_ids: np.ndarray | None = None
) -> np.ndarray:
    """Greedy NMS over ``order`` with every IoU computed up front: one boolean OR a kept box.
    With ``class_ids``, only boxes of the same class suppress each other."""
    # "not <=" rather than ">": a NaN IoU suppresses, as in the one-at-a-time loop
    overlaps = ~(pairwise_iou(boxes[order]) <= iou_threshold)
    if class_ids is not None:
        ranked = class_ids[order]
        overlaps &= ranked[:, None] == ranked[None, :]
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

    Up to ``PAIRWISE_NMS_MAX`` candidates (every camera frame) the pairwise IoUs are masked to
    pairs of one class. Beyond it, the coordinate-offset trick: shifting each class's boxes far
    apart makes one sequential NMS pass equal to one pass per class (its IoUs may differ from the
    unshifted ones in the last bits of float32).
    """
    if boxes.shape[0] <= 1:  # nothing to suppress
        return np.arange(boxes.shape[0], dtype=np.int64)
    order = np.argsort(-confidences, kind="stable")
    if order.size <= PAIRWISE_NMS_MAX:
        return _nms_pairwise(boxes, order, iou_threshold, class_ids)
    span = float(boxes.max() - boxes.min()) + 1.0
    offset = span * class_ids.astype(np.float32)[:, None]
    return _nms_sequential(boxes + offset, order, iou_threshold)


def _finite(value: float) -> bool:
    return value - value == 0.0  # False for inf and NaN


def _nms_small(
    rows: list[list[float]], confidences: list[float], iou_threshold: float, max_detections: int
) -> RawDetections | None:
    """Greedy class-aware NMS of a few candidates in Python floats: what ``class_aware_nms`` on
    float64 arrays keeps, bit for bit (the same operations in the same order). ``rows``: per
    candidate (cx, cy, w, h, scores...). None when a box is not finite (numpy's NaN rules apply)."""
    ranked = []
    for row, confidence in zip(rows, confidences, strict=True):
        cx, cy, w, h = row[0], row[1], row[2] * 0.5, row[3] * 0.5
        if not (_finite(cx) and _finite(cy) and _finite(w) and _finite(h)):
            return None
        scores = row[4:]
        box = [cx - w, cy - h, cx + w, cy + h]
        area = (box[2] - box[0]) * (box[3] - box[1])
        ranked.append((-confidence, scores.index(max(scores)), box, area, scores))
    ranked.sort(key=lambda item: item[0])  # stable, as argsort(kind="stable")
    kept: list[tuple[int, list[float], float, list[float]]] = []
    for _, cls, box, area, scores in ranked:
        for kept_cls, other, other_area, _ in kept:
            if kept_cls != cls:
                continue
            inter_w = min(other[2], box[2]) - max(other[0], box[0])
            inter_h = min(other[3], box[3]) - max(other[1], box[1])
            inter = (inter_w if inter_w > 0 else 0.0) * (inter_h if inter_h > 0 else 0.0)
            union = other_area + area - inter
            if not inter / (union if union > 1e-9 else 1e-9) <= iou_threshold:
                break
        else:
            kept.append((cls, box, area, scores))
            if len(kept) == max_detections:
                break
    return RawDetections([k[1] for k in kept], [k[3] for k in kept])


def _nms_arrays(
    head: np.ndarray, conf: np.ndarray, candidates: np.ndarray, iou_threshold: float, max_detections: int
) -> RawDetections:
    """Class-aware NMS of many candidates with numpy, in float64."""
    preds = head[:, candidates].astype(np.float64)  # (4 + nc, K)
    centres, halves = preds[:2], preds[2:4] * 0.5  # (cx, cy) and (w, h) / 2
    boxes = np.concatenate((centres - halves, centres + halves)).T  # (K, 4) x1, y1, x2, y2
    scores = preds[4:].T
    keep = class_aware_nms(boxes, conf[candidates], scores.argmax(axis=1), iou_threshold)[:max_detections]
    return RawDetections(boxes[keep].tolist(), scores[keep].tolist())


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
        return RawDetections([], [])
    if candidates.size <= SMALL_NMS_MAX:
        rows = head[:, candidates].T.tolist()
        small = _nms_small(rows, conf[candidates].tolist(), iou_threshold, max_detections)
        if small is not None:
            return small
    return _nms_arrays(head, conf, candidates, iou_threshold, max_detections)


def normalise_scores(scores: list[float]) -> list[float]:
    """Raw per-class scores to a probability vector that sums to 1."""
    total = sum(scores)
    total = total if total > 1e-12 else 1e-12
    return [score / total for score in scores]
