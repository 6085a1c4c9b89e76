"""A frame's thumbnail started from the letterbox's scaled image is the one the platform computes.

The platform's drift reference computes statistics on ``Frame.thumbnail()`` of frames it reads
itself (no letterbox), so a camera's thumbnail must be bit-identical whichever way it was made.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from edge_agent.detector.letterbox import fit_input_shape, letterbox, letterbox_scaled
from edge_agent.frame_stats import compute_frame_stats
from edge_agent.frames import THUMBNAIL_SIDE, Frame
from edge_agent.shrink import shrink


def _frame(height: int, width: int, seed: int = 0) -> Frame:
    rng = np.random.default_rng(seed)
    # smooth content plus noise: INTER_AREA and bilinear both have real work to do
    ys, xs = np.mgrid[0:height, 0:width]
    base = (np.sin(xs / 7.0) * 60 + np.cos(ys / 11.0) * 60 + 128)[..., None]
    image = np.clip(base + rng.normal(0, 25, (height, width, 3)), 0, 255).astype(np.uint8)
    return Frame("cam", 0, image, datetime(2026, 1, 1, tzinfo=UTC), "test")


@pytest.mark.parametrize(
    ("height", "width", "imgsz"),
    [(480, 640, 320), (480, 640, 640), (720, 1280, 320), (1080, 1920, 320), (1080, 1920, 640),
     (600, 800, 320), (481, 641, 320), (240, 320, 160), (640, 480, 320), (1000, 100, 320)],
)
@pytest.mark.parametrize("square", [False, True])
def test_thumbnail_from_the_letterbox_is_bit_identical(height, width, imgsz, square):
    frame = _frame(height, width)
    shape = imgsz if square else fit_input_shape((height, width), imgsz)
    boxed, info, scaled = letterbox_scaled(frame.image, shape)
    plain_boxed, plain_info = letterbox(frame.image, shape)
    assert np.array_equal(boxed, plain_boxed) and info == plain_info
    frame.thumbnail_from_scaled(scaled)
    expected = shrink(frame.image, THUMBNAIL_SIDE)
    thumbnail = frame.thumbnail()
    assert thumbnail.shape == expected.shape
    assert np.array_equal(thumbnail, expected)
    assert compute_frame_stats(thumbnail) == compute_frame_stats(expected)


def test_640x480_at_imgsz_320_does_start_from_the_scaled_image():
    # the case the edge bench runs: the letterbox's halving is shrink's first step, so it is used
    frame = _frame(480, 640)
    _, _, scaled = letterbox_scaled(frame.image, fit_input_shape((480, 640), 320))
    frame.thumbnail_from_scaled(scaled)
    assert frame._scaled is scaled
    assert np.array_equal(frame.thumbnail(), shrink(frame.image, THUMBNAIL_SIDE))
    assert frame._scaled is None  # not held once the thumbnail exists


@pytest.mark.parametrize("scaled_shape", [(240, 321, 3), (239, 320, 3), (240, 320)])
def test_a_scaled_image_of_another_size_is_ignored(scaled_shape):
    frame = _frame(480, 640)
    frame.thumbnail_from_scaled(np.zeros(scaled_shape, np.uint8))
    assert frame._scaled is None
    assert np.array_equal(frame.thumbnail(), shrink(frame.image, THUMBNAIL_SIDE))


def test_an_existing_thumbnail_is_kept():
    frame = _frame(480, 640)
    first = frame.thumbnail()
    frame.thumbnail_from_scaled(np.zeros((240, 320, 3), np.uint8))
    assert frame.thumbnail() is first
