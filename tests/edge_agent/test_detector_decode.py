"""Decoding a YOLOv8 output by hand-made arrays: thresholds, class-aware NMS, full score vectors."""

import numpy as np
import pytest

from edge_agent.detector.decode import class_aware_nms, decode_yolov8, nms, normalise_scores


def _output(rows):
    """rows: (cx, cy, w, h, s0, s1, s2) per anchor -> (1, 7, N)."""
    return np.asarray(rows, dtype=np.float32).T[np.newaxis]


def test_keeps_full_score_vector_and_suppresses_overlaps_of_one_class():
    out = _output(
        [
            (50, 50, 20, 20, 0.9, 0.3, 0.1),  # best with_mask
            (51, 51, 20, 20, 0.8, 0.1, 0.1),  # overlaps it, same class: suppressed
            (150, 150, 30, 30, 0.2, 0.6, 0.5),  # elsewhere, without_mask
            (10, 10, 4, 4, 0.1, 0.1, 0.2),  # below the threshold
        ]
    )
    raw = decode_yolov8(out, conf_threshold=0.25, iou_threshold=0.45, max_detections=100)
    assert len(raw) == 2
    np.testing.assert_allclose(raw.boxes, [[40, 40, 60, 60], [135, 135, 165, 165]])
    np.testing.assert_allclose(raw.scores, [[0.9, 0.3, 0.1], [0.2, 0.6, 0.5]])
    assert raw.class_ids == [0, 1]
    np.testing.assert_allclose(raw.confidences, [0.9, 0.6])


def test_overlapping_boxes_of_different_classes_both_survive():
    out = _output([(50, 50, 20, 20, 0.9, 0.0, 0.0), (50, 50, 20, 20, 0.0, 0.7, 0.0)])
    raw = decode_yolov8(out, conf_threshold=0.25, iou_threshold=0.45, max_detections=100)
    assert sorted(raw.class_ids) == [0, 1]


def test_max_detections_keeps_the_most_confident():
    rows = [(20 * i + 10, 10, 8, 8, 0.3 + 0.05 * i, 0, 0) for i in range(10)]
    raw = decode_yolov8(_output(rows), conf_threshold=0.25, iou_threshold=0.45, max_detections=3)
    np.testing.assert_allclose(raw.confidences, [0.75, 0.70, 0.65], rtol=1e-5)


def test_nothing_above_threshold_gives_empty_arrays_with_class_width():
    out = _output([(5, 5, 2, 2, 0.1, 0.1, 0.1)])
    raw = decode_yolov8(out, conf_threshold=0.5, iou_threshold=0.5, max_detections=10)
    assert len(raw) == 0 and raw.boxes == [] and raw.scores == []


def test_wrong_output_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(1, 4 \+ nc, N\)"):
        decode_yolov8(
            np.zeros((1, 3, 10), np.float32), conf_threshold=0.1, iou_threshold=0.5, max_detections=5
        )


def test_nms_by_iou_threshold():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 30, 30]], np.float32)
    conf = np.array([0.9, 0.8, 0.7], np.float32)
    assert nms(boxes, conf, 0.45).tolist() == [0, 2]  # IoU 0.5 > 0.45
    assert nms(boxes, conf, 0.6).tolist() == [0, 1, 2]
    assert class_aware_nms(boxes, conf, np.array([0, 1, 0]), 0.45).tolist() == [0, 1, 2]


def test_normalised_scores_sum_to_one():
    assert sum(normalise_scores([0.6, 0.3, 0.1])) == pytest.approx(1.0)
    assert normalise_scores([0.2, 0.2, 0.0]) == [0.5, 0.5, 0.0]
    assert normalise_scores([0.0, 0.0, 0.0]) == [0.0, 0.0, 0.0]  # no score at all: no division by 0


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("iou_threshold", [0.3, 0.45, 0.7, 1.0])
def test_pairwise_and_sequential_nms_keep_the_same_boxes(seed, iou_threshold):
    # Clustered boxes (many overlaps), tied confidences, a degenerate box and a NaN one: the
    # all-pairs path NMS takes for few candidates keeps exactly what the one-at-a-time path keeps.
    from edge_agent.detector.decode import _nms_pairwise, _nms_sequential

    rng = np.random.default_rng(seed)
    n = 60
    centres = rng.integers(0, 4, (n, 2)) * 40 + rng.random((n, 2)) * 12
    sizes = 10 + rng.random((n, 2)) * 30
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)
    boxes[3] = boxes[3, [0, 1, 0, 1]]  # zero area
    boxes[7, 2] = np.nan
    confidences = np.round(rng.random(n), 1).astype(np.float32)  # many ties
    order = np.argsort(-confidences, kind="stable")
    pairwise = _nms_pairwise(boxes, order, iou_threshold)
    sequential = _nms_sequential(boxes, order, iou_threshold)
    assert pairwise.dtype == np.int64
    np.testing.assert_array_equal(pairwise, sequential)


def test_nms_beyond_the_pairwise_limit_takes_the_sequential_path():
    from edge_agent.detector.decode import PAIRWISE_NMS_MAX

    n = PAIRWISE_NMS_MAX + 5  # disjoint boxes on a line: none suppresses another
    xs = np.arange(n, dtype=np.float32) * 20
    boxes = np.stack([xs, np.zeros(n), xs + 10, np.full(n, 10)], axis=1).astype(np.float32)
    confidences = np.linspace(0.1, 0.9, n).astype(np.float32)
    kept = nms(boxes, confidences, 0.5)
    np.testing.assert_array_equal(kept, np.arange(n)[::-1])


def _per_class_reference(boxes, confidences, class_ids, iou_threshold):
    """NMS run on each class's boxes alone, the kept indices in descending confidence."""
    from edge_agent.detector.decode import _nms_sequential

    order = np.argsort(-confidences, kind="stable")
    kept = []
    for cls in np.unique(class_ids):
        kept.extend(_nms_sequential(boxes, order[class_ids[order] == cls], iou_threshold).tolist())
    rank = {int(i): r for r, i in enumerate(order)}
    return sorted(kept, key=rank.__getitem__)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("n", [40, 300])  # the pairwise path with a class mask, and the offset path
def test_class_aware_nms_equals_nms_run_on_each_class_alone(seed, n):
    rng = np.random.default_rng(seed)
    # integer corners: the offset path's shifted boxes are exact in float32, so both paths must
    # keep exactly what one NMS per class keeps
    centres = rng.integers(0, 4, (n, 2)) * 40 + rng.integers(0, 12, (n, 2))
    sizes = rng.integers(10, 40, (n, 2))
    boxes = np.concatenate([centres - sizes // 2, centres + sizes // 2], axis=1).astype(np.float32)
    confidences = np.round(rng.random(n), 2).astype(np.float32)
    class_ids = rng.integers(0, 3, n)
    kept = class_aware_nms(boxes, confidences, class_ids, 0.45)
    assert kept.tolist() == _per_class_reference(boxes, confidences, class_ids, 0.45)


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("iou_threshold", [0.3, 0.45, 0.7])
def test_the_python_and_numpy_engines_keep_the_same_boxes_bit_for_bit(seed, iou_threshold):
    """Up to SMALL_NMS_MAX candidates NMS runs in Python floats, beyond it in numpy: on the same
    candidates both keep exactly the same boxes and scores (float64, same operations)."""
    from edge_agent.detector.decode import SMALL_NMS_MAX, _nms_arrays, _nms_small

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, SMALL_NMS_MAX + 1))
    rows = np.zeros((n, 7), np.float32)
    rows[:, :2] = rng.integers(0, 3, (n, 2)) * 30 + rng.random((n, 2)) * 15  # clustered centres
    rows[:, 2:4] = 8 + rng.random((n, 2)) * 30
    rows[:, 4:] = np.round(rng.random((n, 3)), 1)  # ties in confidence and in class
    rows[:, 4] = np.maximum(rows[:, 4], 0.3)  # every anchor a candidate
    output = rows.T[np.newaxis]
    head = output[0]
    conf = head[4:].max(axis=0)
    candidates = np.flatnonzero(conf >= 0.25)
    max_detections = int(rng.integers(1, n + 1))
    rows_kept = head[:, candidates].T.tolist()
    small = _nms_small(rows_kept, conf[candidates].tolist(), iou_threshold, max_detections)
    arrays = _nms_arrays(head, conf, candidates, iou_threshold, max_detections)
    assert small is not None
    assert small.boxes == arrays.boxes and small.scores == arrays.scores
    assert len(small) <= max_detections


def test_a_box_that_is_not_finite_takes_the_numpy_engine():
    out = _output([(50, 50, 20, 20, 0.9, 0.0, 0.0), (np.nan, 50, 20, 20, 0.8, 0.0, 0.0)])
    raw = decode_yolov8(out, conf_threshold=0.25, iou_threshold=0.45, max_detections=100)
    assert len(raw) == 1 and raw.boxes[0] == [40.0, 40.0, 60.0, 60.0]  # a NaN IoU suppresses
    from edge_agent.detector.decode import _nms_small

    # the Python engine declines it: numpy's NaN rules decide
    assert _nms_small(out[0].T.tolist(), [0.9, 0.8], 0.45, 100) is None
