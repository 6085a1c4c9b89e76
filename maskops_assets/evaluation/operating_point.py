"""What a camera reports at its operating confidence threshold: a confusion matrix and, read off
it, per-class precision and recall.

mAP sweeps every threshold; a camera keeps only the boxes at or above one (``conf_threshold`` of
the edge's ``DetectorConfig``). The confusion matrix and the precision/recall the gate judges are
therefore drawn at that threshold, not at a validator's 0.001, where a few hundred low-confidence
boxes fill the background column of a matrix whose precision reads 0.9.

Matching follows the usual detection confusion matrix: every (ground truth, detection) pair with
IoU >= ``iou_threshold`` is a candidate, taken greedily by IoU so each box is matched at most once,
whatever the classes; a matched pair counts at ``[predicted][true]``, an unmatched ground truth in
the ``background`` row, an unmatched detection in the ``background`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge_agent.detector.decode import iou_matrix

BACKGROUND = "background"


@dataclass(frozen=True)
class LabeledBox:
    """A box in pixels, (x1, y1, x2, y2), with its class index; ``score`` is 1 for ground truth."""

    box: tuple[float, float, float, float]
    class_index: int
    score: float = 1.0


def confusion_matrix(
    images: Sequence[tuple[Sequence[LabeledBox], Sequence[LabeledBox]]],
    num_classes: int,
    *,
    conf_threshold: float,
    iou_threshold: float = 0.5,
) -> np.ndarray:
    """``(num_classes + 1)`` square counts, ``[predicted][true]``, background last.

    ``images`` holds one (ground truth, detections) pair per image; detections under
    ``conf_threshold`` are left out, as the camera leaves them out.
    """
    matrix = np.zeros((num_classes + 1, num_classes + 1), dtype=np.int64)
    background = num_classes
    for truths, detections in images:
        kept = [d for d in detections if d.score >= conf_threshold]
        gt = np.array([t.box for t in truths], dtype=float).reshape(-1, 4)
        dt = np.array([d.box for d in kept], dtype=float).reshape(-1, 4)
        iou = iou_matrix(gt, dt)
        pairs = np.argwhere(iou >= iou_threshold)
        order = np.argsort(-iou[pairs[:, 0], pairs[:, 1]], kind="stable") if len(pairs) else []
        gt_used: set[int] = set()
        dt_used: set[int] = set()
        for gi, di in (pairs[i] for i in order):
            if gi in gt_used or di in dt_used:
                continue
            gt_used.add(int(gi))
            dt_used.add(int(di))
            matrix[kept[di].class_index, truths[gi].class_index] += 1
        for gi, truth in enumerate(truths):
            if gi not in gt_used:
                matrix[background, truth.class_index] += 1
        for di, detection in enumerate(kept):
            if di not in dt_used:
                matrix[detection.class_index, background] += 1
    return matrix


def precision_recall(matrix: np.ndarray) -> list[tuple[float | None, float | None, int]]:
    """Per class (background excluded): (precision, recall, ground-truth instances).

    precision = correct / all kept detections of the class (None when it predicted none);
    recall = correct / ground truth of the class (None when the split has none).
    """
    out = []
    for k in range(matrix.shape[0] - 1):
        correct = int(matrix[k, k])
        predicted = int(matrix[k, :].sum())
        instances = int(matrix[:, k].sum())
        precision = correct / predicted if predicted else None
        recall = correct / instances if instances else None
        out.append((precision, recall, instances))
    return out
