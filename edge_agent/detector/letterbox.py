"""Letterbox: fit a frame of any shape into the model's input without distorting it.

The frame is scaled by one factor so it fits the input, then padded equally on both sides
with grey (114, the value YOLOv8 is trained with). ``LetterboxInfo`` remembers the scale and
the padding so boxes found on the input can be mapped back to frame pixels.

Two input shapes are used. A model exported with a fixed input gets exactly that shape (a
square ``imgsz`` x ``imgsz`` for most exports). A model exported with dynamic height and width
gets the smallest stride-aligned rectangle that holds the scaled frame (``fit_input_shape``): a
640x480 camera at imgsz 320 runs a 256x320 input instead of 320x320, a fifth less work, which
is what ultralytics' own predictor does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114
#: YOLOv8's largest stride: input sides of a dynamic model must be multiples of it.
DEFAULT_STRIDE = 32


@dataclass(frozen=True, slots=True)
class LetterboxInfo:
    """How a (height, width) frame was placed into a model input."""

    scale: float
    pad_left: int
    pad_top: int
    width: int
    height: int

    def box_to_original(self, box: Sequence[float]) -> tuple[float, float, float, float]:
        """Map one [x1, y1, x2, y2] box in model-input pixels to frame pixels, clipped to the frame
        (plain floats: a camera frame has a handful of boxes, each cheaper than a numpy call)."""
        scale, left, top = self.scale, self.pad_left, self.pad_top
        x1, x2 = ((v - left) / scale for v in (box[0], box[2]))
        y1, y2 = ((v - top) / scale for v in (box[1], box[3]))
        return (
            min(max(x1, 0.0), self.width),
            min(max(y1, 0.0), self.height),
            min(max(x2, 0.0), self.width),
            min(max(y2, 0.0), self.height),
        )

    def to_input(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """The inverse of ``box_to_original`` (without clipping) for (N, 4) boxes: frame pixels to
        model-input pixels."""
        out = np.asarray(boxes_xyxy, dtype=np.float32).copy()
        out *= self.scale
        out[:, 0::2] += self.pad_left
        out[:, 1::2] += self.pad_top
        return out


def _scaled_size(height: int, width: int, target_h: int, target_w: int) -> tuple[float, int, int]:
    scale = min(target_h / height, target_w / width)
    return scale, max(1, round(width * scale)), max(1, round(height * scale))


def fit_input_shape(frame_hw: tuple[int, int], imgsz: int, stride: int = DEFAULT_STRIDE) -> tuple[int, int]:
    """The (height, width) input a dynamic-shape model gets for a frame of ``frame_hw``.

    The frame is scaled so its longer side is ``imgsz``; the other side is padded up to the
    next multiple of ``stride`` (at least one stride). ``imgsz`` itself is rounded up to a
    multiple of the stride.
    """
    height, width = frame_hw
    if height < 1 or width < 1:
        raise ValueError(f"cannot fit an empty frame of shape {frame_hw}")
    side = -(-imgsz // stride) * stride
    _, new_w, new_h = _scaled_size(height, width, side, side)

    def up(n: int) -> int:
        return max(stride, -(-n // stride) * stride)

    return up(new_h), up(new_w)


def letterbox(image_bgr: np.ndarray, shape: int | tuple[int, int]) -> tuple[np.ndarray, LetterboxInfo]:
    """The letterboxed image of ``shape`` ((height, width), or an int for a square) and how it was made."""
    boxed, info, _ = letterbox_scaled(image_bgr, shape)
    return boxed, info


def letterbox_scaled(
    image_bgr: np.ndarray, shape: int | tuple[int, int]
) -> tuple[np.ndarray, LetterboxInfo, np.ndarray]:
    """``letterbox``, and the scaled image before padding (``image_bgr`` itself when not scaled),
    which a caller may reuse (``Frame.thumbnail_from_scaled``); never modified afterwards."""
    height, width = image_bgr.shape[:2]
    if height < 1 or width < 1:
        raise ValueError(f"cannot letterbox an empty image of shape {image_bgr.shape}")
    target_h, target_w = (shape, shape) if isinstance(shape, int) else shape
    scale, new_w, new_h = _scaled_size(height, width, target_h, target_w)
    if (new_w, new_h) != (width, height):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=interp)
    else:
        resized = image_bgr
    pad_w, pad_h = target_w - new_w, target_h - new_h
    left, top = pad_w // 2, pad_h // 2
    if pad_w or pad_h:
        boxed = cv2.copyMakeBorder(
            resized, top, pad_h - top, left, pad_w - left, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
        )
    else:
        boxed = np.ascontiguousarray(resized)
    # The effective scale per axis can differ from ``scale`` by rounding; one factor is exact
    # enough (< half a pixel) and keeps the inverse simple.
    info = LetterboxInfo(scale=scale, pad_left=left, pad_top=top, width=width, height=height)
    return boxed, info, resized


def to_input_tensor(boxed_bgr: np.ndarray) -> np.ndarray:
    """(1, 3, H, W) float32 RGB in [0, 1], the layout YOLOv8 ONNX exports expect."""
    rgb = cv2.cvtColor(boxed_bgr, cv2.COLOR_BGR2RGB)
    tensor = rgb.transpose(2, 0, 1)[np.newaxis].astype(np.float32)
    tensor *= 1.0 / 255.0
    return np.ascontiguousarray(tensor)
