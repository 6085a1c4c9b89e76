"""Backgrounds behind the faces: flat walls, gradients, textures and cluttered rooms.

Backgrounds carry no face-like shapes (no ellipses with two dark dots), so every
face in a scene is one that is labelled.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskops_assets.synthetic.domain import BackgroundKind


def render_background(kind: BackgroundKind, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 BGR background of the given kind."""
    base = rng.integers(40, 220, size=3)
    if kind == "flat":
        image = np.empty((height, width, 3), np.uint8)
        image[:] = base
        return image
    if kind == "gradient":
        return _gradient(rng, base, width, height)
    if kind == "texture":
        return _texture(rng, base, width, height)
    return _clutter(rng, base, width, height)


def _gradient(rng: np.random.Generator, base: np.ndarray, width: int, height: int) -> np.ndarray:
    other = rng.integers(40, 220, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = xs * np.cos(angle) + ys * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(1e-6, float(np.ptp(ramp)))
    image = base[None, None, :] * (1 - ramp[..., None]) + other[None, None, :] * ramp[..., None]
    return image.astype(np.uint8)


def _texture(rng: np.random.Generator, base: np.ndarray, width: int, height: int) -> np.ndarray:
    # Low-pass filtered noise reads as plaster, carpet or foliage depending on the cell size.
    cell = int(rng.integers(2, 9))
    small = rng.normal(0.0, 1.0, size=(height // cell + 2, width // cell + 2)).astype(np.float32)
    noise = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)[:height, :width]
    amplitude = rng.uniform(12, 35)
    image = base[None, None, :].astype(np.float32) + amplitude * noise[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def _clutter(rng: np.random.Generator, base: np.ndarray, width: int, height: int) -> np.ndarray:
    image = _gradient(rng, base, width, height)
    for _ in range(int(rng.integers(4, 12))):
        colour = tuple(int(c) for c in rng.integers(20, 235, size=3))
        x1, x2 = sorted(int(v) for v in rng.integers(0, width, size=2))
        y1, y2 = sorted(int(v) for v in rng.integers(0, height, size=2))
        shape = rng.integers(3)
        if shape == 0:  # shelves, posters, doors
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, -1)
        elif shape == 1:  # cables, frames
            cv2.line(image, (x1, y1), (x2, y2), colour, int(rng.integers(1, 4)), cv2.LINE_AA)
        else:  # plants, lamps: polygons, never ellipses that could pass for a head
            points = rng.integers(0, [width, height], size=(int(rng.integers(3, 6)), 2)).astype(np.int32)
            cv2.fillPoly(image, [points], colour, cv2.LINE_AA)
    return image
