"""The box comparison of shadow mode: greedy matching by confidence at IoU >= 0.5, class agreement,
confidence delta and the boxes only one model found, on hand-made boxes."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.detector.decode import iou_matrix
from edge_agent.shadow_compare import compare_detections, match_boxes
from maskops_contracts import CLASS_NAMES, Detection

WITH, WITHOUT, INCORRECT = CLASS_NAMES


def det(box, name=WITH, conf=0.9) -> Detection:
    probs = [0.0] * len(CLASS_NAMES)
    probs[CLASS_NAMES.index(name)] = conf
    return Detection(tuple(map(float, box)), name, conf, tuple(probs))


def test_iou_matrix_of_known_boxes():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=float)
    iou = iou_matrix(a, b)
    assert iou.shape == (2, 3)
    assert iou[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])
    assert iou_matrix(a[:0], b).shape == (0, 3)


def test_identical_boxes_agree_fully():
    boxes = [det((0, 0, 10, 10)), det((20, 20, 40, 40), WITHOUT, 0.7)]
    c = compare_detections(boxes, list(boxes))
    assert (c.matched, c.class_agreed, c.champion_only, c.shadow_only) == (2, 2, 0, 0)
    assert c.mean_confidence_delta == 0.0 and c.disagreement == 0.0
    assert sum(c.class_mismatches.values()) == 0


def test_a_swapped_class_is_a_matched_pair_that_disagrees_on_the_champions_class():
    champion = [det((0, 0, 10, 10), WITH, 0.9), det((20, 20, 40, 40), WITHOUT, 0.7)]
    shadow = [det((0, 0, 10, 10), WITHOUT, 0.8), det((20, 20, 40, 40), WITHOUT, 0.75)]
    c = compare_detections(champion, shadow)
    assert (c.matched, c.class_agreed) == (2, 1)
    assert c.class_mismatches == {WITH: 1, WITHOUT: 0, INCORRECT: 0}
    assert c.mean_confidence_delta == pytest.approx(((0.8 - 0.9) + (0.75 - 0.7)) / 2)
    assert c.disagreement == pytest.approx(0.5)


def test_boxes_under_the_iou_threshold_are_lone_on_each_side():
    champion = [det((0, 0, 10, 10))]
    shadow = [det((6, 0, 16, 10))]  # IoU 4/16 = 0.25
    c = compare_detections(champion, shadow)
    assert (c.matched, c.champion_only, c.shadow_only, c.disagreement) == (0, 1, 1, 1.0)
    assert compare_detections([], []).disagreement == 0.0
    assert compare_detections(champion, []).champion_only == 1


def test_greedy_matching_gives_the_contested_box_to_the_most_confident_champion_box():
    shadow = [det((0, 0, 10, 10))]
    low = det((0, 0, 10, 11), conf=0.4)  # overlaps the shadow box more
    high = det((0, 0, 10, 12), conf=0.95)
    assert match_boxes([low, high], shadow) == [(1, 0)]
    c = compare_detections([low, high], shadow)
    assert (c.matched, c.champion_only, c.shadow_only) == (1, 1, 0)
