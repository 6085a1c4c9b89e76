"""mAP as the field reports it: COCO's evaluation (pycocotools' ``COCOeval``) over boxes in pixels.

The gate's mAP50 and mAP50-95 come from here, on detections the edge agent's own pipeline made, so
the figure a release is judged by is the metric papers and leaderboards quote, computed by the
maintained reference implementation rather than a re-implementation of it. COCO's defaults apply:
up to 100 detections per image, area range "all", the 101-point interpolated precision.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskops_assets.evaluation.operating_point import LabeledBox

#: COCO's recall grid: 0.00, 0.01, ..., 1.00 (``COCOeval.params.recThrs``).
RECALL_GRID = tuple(round(x, 2) for x in np.linspace(0.0, 1.0, 101))


@dataclass(frozen=True)
class CocoScores:
    """mAP over the classes with ground truth, and per class (None where a class has none).

    ``pr_curves[class]`` is precision at each point of ``RECALL_GRID`` at IoU 0.5.
    """

    map50: float
    map50_95: float
    ap50: tuple[float | None, ...]
    ap50_95: tuple[float | None, ...]
    pr_curves: dict[int, tuple[float, ...]]


def coco_scores(
    images: Sequence[tuple[Sequence[LabeledBox], Sequence[LabeledBox]]],
    num_classes: int,
) -> CocoScores:
    """Score ``images`` (one (ground truth, detections) pair per image) with pycocotools' COCOeval."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt_images, gt_anns, results = [], [], []
    for image_id, (truths, detections) in enumerate(images, start=1):
        gt_images.append({"id": image_id})
        for truth in truths:
            x1, y1, x2, y2 = truth.box
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": image_id,
                    "category_id": truth.class_index + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
        for detection in detections:
            x1, y1, x2, y2 = detection.box
            results.append(
                {
                    "image_id": image_id,
                    "category_id": detection.class_index + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(detection.score),
                }
            )
    categories = [{"id": k + 1, "name": str(k)} for k in range(num_classes)]
    has_truth = [any(a["category_id"] == k + 1 for a in gt_anns) for k in range(num_classes)]
    if not results or not gt_anns:
        # nothing detected (or nothing to find): every class with ground truth scores 0
        zero = tuple(0.0 if present else None for present in has_truth)
        curves = {k: (0.0,) * len(RECALL_GRID) for k in range(num_classes) if has_truth[k]}
        return CocoScores(0.0, 0.0, zero, zero, curves)

    # pycocotools prints progress to stdout; the evaluation logs its own one line instead
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = {"images": gt_images, "annotations": gt_anns, "categories": categories}
        ground_truth.createIndex()
        detected = ground_truth.loadRes(results)
        evaluator = COCOeval(ground_truth, detected, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    # precision[iou, recall, class, area, max_dets]; area 0 = "all", max_dets -1 = 100
    precision = evaluator.eval["precision"][:, :, :, 0, -1]
    ap50, ap50_95, curves = [], [], {}
    for k in range(num_classes):
        at_50 = precision[0, :, k]
        if not has_truth[k] or not (at_50 > -1).any():
            ap50.append(None)
            ap50_95.append(None)
            continue
        ap50.append(float(at_50[at_50 > -1].mean()))
        every = precision[:, :, k]
        ap50_95.append(float(every[every > -1].mean()))
        curves[k] = tuple(round(float(max(v, 0.0)), 4) for v in at_50)
    return CocoScores(
        map50=max(float(evaluator.stats[1]), 0.0),
        map50_95=max(float(evaluator.stats[0]), 0.0),
        ap50=tuple(ap50),
        ap50_95=tuple(ap50_95),
        pr_curves=curves,
    )
