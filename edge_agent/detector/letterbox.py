"""Letterbox: fit a frame of any shape into the model's square input without distorting it.

The frame is scaled by one factor so its longer side fills ``imgsz``, then padded equally on
both sides with grey (114, the value YOLOv8 is trained with). ``LetterboxInfo`` remembers the scale
and the padding so boxes found on the square input can be mapped back to frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class LetterboxInfo:
    """How a (height, width) frame was placed into a (imgsz, imgsz) input."""

    scale: float
    pad_left: int
    pad_top: int
    width: int
    height: int

    def to_original(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Map (N, 4) xyxy boxes in model-input pixels to frame pixels, clipped to the frame."""
        out = np.asarray(boxes_xyxy, dtype=np.float32).copy()
        xs, ys = out[:, 0::2], out[:, 1::2]  # views: x1, x2 and y1, y2
        xs -= self.pad_left
        ys -= self.pad_top
        out /= self.scale
        np.clip(xs, 0, self.width, out=xs)
        np.clip(ys, 0, self.height, out=ys)
        return out

    def to_input(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """The inverse of ``to_original`` (without clipping): frame pixels to model-input pixels."""
        out = np.asarray(boxes_xyxy, dtype=np.float32).copy()
        out *= self.scale
        out[:, 0::2] += self.pad_left
        out[:, 1::2] += self.pad_top
        return out


def letterbox(image_bgr: np.ndarray, imgsz: int) -> tuple[np.ndarray, LetterboxInfo]:
    """The (imgsz, imgsz, 3) letterboxed image and how it was made."""
    height, width = image_bgr.shape[:2]
    if height < 1 or width < 1:
        raise ValueError(f"cannot letterbox an empty image of shape {image_bgr.shape}")
    scale = min(imgsz / height, imgsz / width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_w, new_h) != (width, height):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=interp)
    else:
        resized = image_bgr
    pad_w, pad_h = imgsz - new_w, imgsz - new_h
    left, top = pad_w // 2, pad_h // 2
    boxed = cv2.copyMakeBorder(
        resized, top, pad_h - top, left, pad_w - left, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    # The effective scale per axis can differ from ``scale`` by rounding; one factor is exact
    # enough (< half a pixel) and keeps the inverse simple.
    return boxed, LetterboxInfo(scale=scale, pad_left=left, pad_top=top, width=width, height=height)


def to_input_tensor(boxed_bgr: np.ndarray) -> np.ndarray:
    """(1, 3, S, S) float32 RGB in [0, 1], the layout YOLOv8 ONNX exports expect."""
    rgb = cv2.cvtColor(boxed_bgr, cv2.COLOR_BGR2RGB)
    tensor = rgb.transpose(2, 0, 1)[np.newaxis].astype(np.float32)
    tensor *= 1.0 / 255.0
    return np.ascontiguousarray(tensor)
