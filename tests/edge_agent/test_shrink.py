"""shrink: the cheap downscale behind frame statistics and hashes stays close to a true area average."""

import cv2
import numpy as np
import pytest

from edge_agent.shrink import shrink


@pytest.mark.parametrize(
    ("shape", "max_side", "expected"),
    [((480, 640, 3), 256, (192, 256, 3)), ((1080, 1920, 3), 256, (144, 256, 3)), ((640, 480), 72, (72, 54))],
)
def test_longer_side_becomes_max_side(shape, max_side, expected):
    assert shrink(np.zeros(shape, np.uint8), max_side).shape == expected


def test_small_images_are_returned_as_they_are():
    image = np.zeros((100, 200, 3), np.uint8)
    assert shrink(image, 256) is image


@pytest.mark.parametrize(
    ("size", "small", "kept"),
    [
        ((640, 480), (256, 192), (640, 480)),
        # sizes that do not divide by the integer factor (1080p by 7, 4 MP by 10): the few edge
        # pixels that do not fill a whole block are dropped, under one factor per side
        ((1920, 1080), (256, 144), (1918, 1078)),
        ((2688, 1520), (256, 145), (2680, 1520)),
    ],
)
def test_close_to_a_true_area_average_on_smooth_content(size, small, kept):
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
    fast = shrink(base, 256)
    assert fast.shape[:2] == small[::-1]
    area = cv2.resize(base[: kept[1], : kept[0]], small, interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(fast.astype(np.float32) - area).mean() < 2.0


def test_fine_detail_is_averaged_not_aliased():
    """One-pixel stripes must come out as mid grey, as they would through a lens; point sampling
    would turn them into solid black or white bands."""
    stripes = np.zeros((480, 640), np.uint8)
    stripes[:, ::2] = 255
    fast = shrink(stripes, 256).astype(np.float32)
    nearest = cv2.resize(stripes, (256, 192), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    assert abs(fast.mean() - 127.5) < 2 and fast.std() < 2
    assert nearest.std() > 100


def test_a_frame_makes_its_thumbnail_once():
    """Statistics and the sampler's hash read the same 256 px copy; it is made on first use."""
    from datetime import UTC, datetime

    from edge_agent.frames import THUMBNAIL_SIDE, Frame

    frame = Frame("cam", 0, np.zeros((480, 640, 3), np.uint8), datetime(2026, 11, 23, tzinfo=UTC), "test")
    first = frame.thumbnail()
    assert first.shape == (192, THUMBNAIL_SIDE, 3)
    assert frame.thumbnail() is first
