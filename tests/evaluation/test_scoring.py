"""COCO scoring and the operating-point confusion matrix on boxes whose answer is known by hand,
cross-checked against a second COCO implementation (faster-coco-eval)."""

import numpy as np
import pytest

from maskops_assets.evaluation.coco_scores import coco_scores
from maskops_assets.evaluation.crosscheck import faster_coco_map
from maskops_assets.evaluation.operating_point import LabeledBox, confusion_matrix, precision_recall

GT = [
    ([LabeledBox((10, 10, 50, 50), 0), LabeledBox((60, 60, 100, 100), 1)], "image 1"),
    ([LabeledBox((20, 20, 70, 70), 0)], "image 2"),
]


def test_perfect_detections_score_one_and_a_miss_scores_zero():
    perfect = [(truths, [LabeledBox(t.box, t.class_index, 0.9) for t in truths]) for truths, _ in GT]
    scores = coco_scores(perfect, 3)
    assert scores.map50 == pytest.approx(1.0) and scores.map50_95 == pytest.approx(1.0)
    assert scores.ap50 == (pytest.approx(1.0), pytest.approx(1.0), None)  # class 2 has no ground truth
    assert 2 not in scores.pr_curves and scores.pr_curves[0][-1] == 1.0

    nothing = coco_scores([(truths, []) for truths, _ in GT], 3)
    assert nothing.map50 == 0.0 and nothing.ap50 == (0.0, 0.0, None)


def test_scores_agree_with_a_second_coco_implementation():
    rng = np.random.default_rng(0)
    images = []
    for _ in range(12):
        truths, found = [], []
        for _ in range(rng.integers(1, 4)):
            x, y, w, h = rng.uniform(0, 120), rng.uniform(0, 120), rng.uniform(15, 60), rng.uniform(15, 60)
            k = int(rng.integers(0, 3))
            truths.append(LabeledBox((x, y, x + w, y + h), k))
            jitter = rng.normal(0, 4, 4)
            found.append(
                LabeledBox(
                    (x + jitter[0], y + jitter[1], x + w + jitter[2], y + h + jitter[3]),
                    k if rng.random() < 0.8 else (k + 1) % 3,
                    float(rng.uniform(0.05, 1)),
                )
            )
        for _ in range(rng.integers(0, 3)):  # false positives
            x, y = rng.uniform(0, 150), rng.uniform(0, 150)
            found.append(
                LabeledBox((x, y, x + 20, y + 25), int(rng.integers(0, 3)), float(rng.uniform(0, 0.6)))
            )
        images.append((truths, found))
    ours = coco_scores(images, 3)
    theirs_map50, theirs_map = faster_coco_map(images, 3)
    assert 0.2 < ours.map50 < 0.99  # a case with something to get wrong
    assert ours.map50 == pytest.approx(theirs_map50, abs=1e-6)
    assert ours.map50_95 == pytest.approx(theirs_map, abs=1e-6)


def test_confusion_matrix_counts_at_the_operating_threshold():
    truths = [
        LabeledBox((10, 10, 50, 50), 0),
        LabeledBox((60, 60, 100, 100), 1),
        LabeledBox((0, 100, 30, 130), 2),
    ]
    found = [
        LabeledBox((11, 11, 50, 50), 0, 0.9),  # right
        LabeledBox((61, 60, 100, 101), 0, 0.8),  # re-classed: true 1, predicted 0
        LabeledBox((150, 150, 180, 180), 1, 0.7),  # a box where there is no face
        LabeledBox((0, 100, 30, 130), 2, 0.1),  # right, but under the operating threshold
        LabeledBox((12, 12, 50, 50), 0, 0.6),  # a duplicate of the first: the face is taken
    ]
    matrix = confusion_matrix([(truths, found)], 3, conf_threshold=0.25)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = 1
    expected[0, 1] = 1
    expected[1, 3] = 1
    expected[3, 2] = 1  # missed at 0.25
    expected[0, 3] = 1  # the duplicate
    assert (matrix == expected).all(), matrix
    (p0, r0, n0), (p1, r1, n1), (p2, r2, n2) = precision_recall(matrix)
    assert (p0, r0, n0) == (pytest.approx(1 / 3), 1.0, 1)
    assert (p1, r1, n1) == (0.0, 0.0, 1)
    assert (p2, r2, n2) == (None, 0.0, 1)
    # at a lower threshold the faint box counts
    low = confusion_matrix([(truths, found)], 3, conf_threshold=0.05)
    assert low[2, 2] == 1 and low[3, 2] == 0
