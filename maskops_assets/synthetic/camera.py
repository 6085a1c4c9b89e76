"""What the camera does to a scene: exposure, contrast, colour cast, blur and sensor noise.

Lighting is drawn once per image (or once per video, so a clip keeps one look)
and applied to the finished scene, faces and background alike, as a real camera would.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskops_assets.synthetic.domain import SceneDomain


@dataclass(frozen=True)
class CameraLook:
    """One draw of the domain's lighting and optics knobs."""

    brightness: float
    contrast: float
    gains_bgr: tuple[float, float, float]
    blur_sigma: float
    noise_sigma: float


def sample_camera_look(domain: SceneDomain, rng: np.random.Generator) -> CameraLook:
    jitter = rng.uniform(-domain.colour_jitter, domain.colour_jitter, size=3)
    gains = tuple(float(g + j) for g, j in zip(domain.colour_cast_bgr, jitter, strict=True))
    return CameraLook(
        brightness=float(rng.uniform(*domain.brightness)),
        contrast=float(rng.uniform(*domain.contrast)),
        gains_bgr=gains,  # type: ignore[arg-type]
        blur_sigma=float(rng.uniform(*domain.blur_sigma)),
        noise_sigma=float(rng.uniform(*domain.noise_sigma)),
    )


def apply_camera_look(image: np.ndarray, look: CameraLook, rng: np.random.Generator) -> np.ndarray:
    """Return ``image`` (uint8 BGR) as this camera would record it; ``rng`` draws the sensor noise."""
    out = image.astype(np.float32)
    out = (out - 128.0) * look.contrast + 128.0 + look.brightness
    out *= np.asarray(look.gains_bgr, np.float32)[None, None, :]
    if look.blur_sigma > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), look.blur_sigma)
    if look.noise_sigma > 0:
        out += rng.normal(0.0, look.noise_sigma, size=out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)
