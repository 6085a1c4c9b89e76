"""Letterbox geometry: non-square frames fit without distortion and boxes map back exactly."""

import numpy as np
import pytest

from edge_agent.detector.letterbox import PAD_VALUE, fit_input_shape, letterbox, to_input_tensor


@pytest.mark.parametrize(("height", "width"), [(480, 640), (640, 480), (100, 300), (320, 320), (50, 60)])
def test_letterbox_keeps_aspect_and_centres(height, width):
    image = np.full((height, width, 3), 200, dtype=np.uint8)
    boxed, info = letterbox(image, 320)
    assert boxed.shape == (320, 320, 3)
    assert info.scale == pytest.approx(min(320 / height, 320 / width))
    content_w, content_h = round(width * info.scale), round(height * info.scale)
    # Padding is split evenly (at most one pixel of difference) and is grey.
    assert abs((320 - content_w) - 2 * info.pad_left) <= 1
    assert abs((320 - content_h) - 2 * info.pad_top) <= 1
    inner = boxed[info.pad_top : info.pad_top + content_h, info.pad_left : info.pad_left + content_w]
    assert (inner == 200).all()
    if info.pad_top:
        assert (boxed[: info.pad_top] == PAD_VALUE).all()
    if info.pad_left:
        assert (boxed[:, : info.pad_left] == PAD_VALUE).all()


def test_boxes_round_trip_between_frame_and_input():
    _, info = letterbox(np.zeros((480, 640, 3), np.uint8), 320)
    frame_boxes = np.array([[10, 20, 110, 220], [500, 300, 639, 479]], dtype=np.float32)
    back = [info.box_to_original(box) for box in info.to_input(frame_boxes).tolist()]
    np.testing.assert_allclose(back, frame_boxes, atol=1e-3)
    # 640x480 -> scale 0.5, 80 px of vertical padding split 40/40.
    np.testing.assert_allclose(info.to_input(frame_boxes[:1]), [[5, 50, 55, 150]])


def test_content_pixel_lands_where_the_inverse_says():
    """A marked pixel in a tall frame is found, after letterboxing, where to_input puts it."""
    image = np.zeros((300, 100, 3), np.uint8)
    image[150:160, 40:50] = 255
    boxed, info = letterbox(image, 96)
    ys, xs = np.nonzero(boxed[:, :, 0] > 128)
    mapped = info.to_input(np.array([[40, 150, 50, 160]], np.float32))[0]
    assert xs.min() >= mapped[0] - 1 and xs.max() <= mapped[2] + 1
    assert ys.min() >= mapped[1] - 1 and ys.max() <= mapped[3] + 1


def test_boxes_in_padding_are_clipped_to_the_frame():
    _, info = letterbox(np.zeros((100, 200, 3), np.uint8), 64)
    assert info.box_to_original([-5, 0, 70, 10]) == (0.0, 0.0, 200.0, 0.0)


def test_input_tensor_is_rgb_nchw_unit_range():
    boxed = np.zeros((8, 8, 3), np.uint8)
    boxed[..., 2] = 255  # red in BGR
    tensor = to_input_tensor(boxed)
    assert tensor.shape == (1, 3, 8, 8) and tensor.dtype == np.float32
    assert tensor[0, 0].max() == pytest.approx(1.0) and tensor[0, 2].max() == 0.0


@pytest.mark.parametrize(
    ("frame_hw", "imgsz", "expected"),
    [
        ((480, 640), 320, (256, 320)),  # 4:3 camera: 320x240 content, padded to a stride multiple
        ((640, 480), 320, (320, 256)),
        ((720, 1280), 640, (384, 640)),  # 16:9: 640x360 -> 384
        ((320, 320), 320, (320, 320)),
        ((100, 3000), 320, (32, 320)),  # a sliver still gets one stride
        ((480, 640), 300, (256, 320)),  # imgsz is rounded up to the stride first
    ],
)
def test_fit_input_shape_is_the_smallest_stride_aligned_rectangle(frame_hw, imgsz, expected):
    assert fit_input_shape(frame_hw, imgsz) == expected


def test_letterbox_into_a_rectangle_centres_with_little_padding():
    image = np.full((480, 640, 3), 200, dtype=np.uint8)
    boxed, info = letterbox(image, (256, 320))
    assert boxed.shape == (256, 320, 3) and boxed.flags.c_contiguous
    assert (info.scale, info.pad_left, info.pad_top) == (0.5, 0, 8)
    assert (boxed[:8] == PAD_VALUE).all() and (boxed[-8:] == PAD_VALUE).all()
    assert (boxed[8:248] == 200).all()
    frame_box = np.array([[100, 50, 300, 400]], np.float32)
    np.testing.assert_allclose(info.to_input(frame_box), [[50, 33, 150, 208]])
    np.testing.assert_allclose([info.box_to_original(info.to_input(frame_box)[0])], frame_box, atol=1e-3)


def test_fit_input_shape_refuses_an_empty_frame():
    with pytest.raises(ValueError, match="empty frame"):
        fit_input_shape((0, 640), 320)
