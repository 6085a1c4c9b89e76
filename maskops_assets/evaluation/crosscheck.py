"""A second, independent COCO evaluator (faster-coco-eval) for checking the gate's figures.

The gate scores with pycocotools (``coco_scores``); tests and ``bench/gate_crosscheck.py`` score
the same boxes with faster-coco-eval, a separate implementation, and compare. faster-coco-eval is
a development dependency (the ``dev`` extra), imported only when this is called.
"""

from __future__ import annotations

from collections.abc import Sequence

from maskops_assets.evaluation.operating_point import LabeledBox


def faster_coco_map(
    images: Sequence[tuple[Sequence[LabeledBox], Sequence[LabeledBox]]], num_classes: int
) -> tuple[float, float]:
    """(mAP50, mAP50-95) of (ground truth, detections) pairs per image, by faster-coco-eval.

    With no detections at all the answer is (0, 0), as COCO defines it (faster-coco-eval refuses
    an empty result list).
    """
    from faster_coco_eval import COCO, COCOeval_faster

    gt: dict = {"images": [], "annotations": [], "categories": [{"id": k + 1} for k in range(num_classes)]}
    results = []
    for image_id, (truths, found) in enumerate(images, start=1):
        gt["images"].append({"id": image_id})
        for t in truths:
            x1, y1, x2, y2 = t.box
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": t.class_index + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
        for d in found:
            x1, y1, x2, y2 = d.box
            results.append(
                {
                    "image_id": image_id,
                    "category_id": d.class_index + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(d.score),
                }
            )
    if not results:
        return 0.0, 0.0
    truth = COCO(gt)
    evaluator = COCOeval_faster(truth, truth.loadRes(results), "bbox", print_function=lambda *a: None)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return max(float(evaluator.stats[1]), 0.0), max(float(evaluator.stats[0]), 0.0)
