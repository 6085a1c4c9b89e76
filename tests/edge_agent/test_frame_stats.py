"""Frame statistics and the telemetry row built from them."""

from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from edge_agent.detector.base import DetectionResult
from edge_agent.frame_stats import compute_frame_stats, telemetry_row
from edge_agent.frames import Frame
from maskops_contracts import TELEMETRY_COLUMNS, Detection, TelemetryRow


def test_uniform_colour():
    image = np.zeros((60, 80, 3), np.uint8)
    image[:] = (0, 0, 255)  # pure red in BGR
    stats = compute_frame_stats(image)
    assert (stats.mean_r, stats.mean_g, stats.mean_b) == pytest.approx((255.0, 0.0, 0.0))
    assert stats.saturation == pytest.approx(255.0)
    assert stats.contrast == pytest.approx(0.0) and stats.blur == pytest.approx(0.0)
    assert stats.brightness == pytest.approx(76, abs=1)  # 0.299 * 255


def test_blur_and_contrast_fall_when_a_pattern_is_blurred():
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(sharp, (9, 9), 3)
    s_sharp, s_blur = compute_frame_stats(sharp), compute_frame_stats(blurred)
    assert s_blur.blur < s_sharp.blur / 10
    assert s_blur.contrast < s_sharp.contrast


def test_large_frames_are_measured_at_the_same_scale_as_small_ones():
    rng = np.random.default_rng(1)
    pattern = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    small = cv2.resize(pattern, (256, 192), interpolation=cv2.INTER_NEAREST)
    big = cv2.resize(small, (1024, 768), interpolation=cv2.INTER_NEAREST)
    a, b = compute_frame_stats(small), compute_frame_stats(big)
    assert b.brightness == pytest.approx(a.brightness, rel=0.01)
    assert b.blur == pytest.approx(a.blur, rel=0.05)


def test_telemetry_row_counts_and_confidences():
    image = np.full((40, 40, 3), 100, np.uint8)
    frame = Frame("cam-1", 7, image, datetime(2026, 11, 23, tzinfo=UTC), "x.mp4")
    dets = [
        Detection((1, 1, 10, 10), "with_mask", 0.9, (0.9, 0.1, 0.0)),
        Detection((5, 5, 20, 20), "with_mask", 0.5, (0.5, 0.3, 0.2)),
        Detection((2, 2, 30, 30), "without_mask", 0.7, (0.2, 0.7, 0.1)),
    ]
    row = telemetry_row(
        frame,
        compute_frame_stats(frame.image),
        DetectionResult(dets, 12.5),
        "v3",
        runtime="openvino",
        precision="bf16",
    )
    assert isinstance(row, TelemetryRow)
    flat = row.to_dict()
    assert tuple(flat) == TELEMETRY_COLUMNS
    assert flat["num_detections"] == 3
    assert flat["mean_confidence"] == pytest.approx(0.7)
    assert flat["min_confidence"] == pytest.approx(0.5)
    counts = (flat["count_with_mask"], flat["count_without_mask"], flat["count_mask_weared_incorrect"])
    assert counts == (2, 1, 0)
    assert flat["inference_ms"] == 12.5 and flat["model_version"] == "v3"
    assert (flat["runtime"], flat["precision"]) == ("openvino", "bf16")
    assert flat["brightness"] == pytest.approx(100.0)


def test_telemetry_row_without_detections_has_zero_confidences():
    frame = Frame("cam-1", 0, np.zeros((10, 10, 3), np.uint8), datetime(2026, 11, 23, tzinfo=UTC), "x")
    row = telemetry_row(frame, compute_frame_stats(frame.image), DetectionResult([], 1.0), "v1")
    assert (row.num_detections, row.mean_confidence, row.min_confidence) == (0, 0.0, 0.0)
    assert (row.runtime, row.precision) == (None, None)  # not given: no detector ran it


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_statistics_equal_their_numpy_definitions(seed):
    """Each figure is what its definition gives in float64 numpy, on a natural-looking image
    (smooth gradients plus noise) and at an odd size, so any shortcut in computing them must
    give the same numbers."""
    rng = np.random.default_rng(seed)
    h, w = 187, 253
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], axis=2)
    image = np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    stats = compute_frame_stats(image)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)
    laplacian = cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F)
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    expected = {
        "brightness": grey.mean(),
        "contrast": grey.std(),
        "blur": laplacian.var(),
        "mean_b": image[:, :, 0].astype(np.float64).mean(),
        "mean_g": image[:, :, 1].astype(np.float64).mean(),
        "mean_r": image[:, :, 2].astype(np.float64).mean(),
        "saturation": hsv[:, :, 1].astype(np.float64).mean(),
    }
    for name, value in expected.items():
        assert getattr(stats, name) == pytest.approx(value, rel=1e-9, abs=1e-9), name
