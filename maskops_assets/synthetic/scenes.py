"""Lay faces out in a picture and render it, with one label box per face.

A scene is a background, a few non-overlapping faces (each label box is exactly
the face) and a camera look over the whole. :func:`render_scene` does all three
for a still image; the pieces (:func:`place_faces`, :func:`compose`) are public
so a video can keep its faces and move them between frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskops_assets.datasets.annotations import BoxAnnotation
from maskops_assets.synthetic.backgrounds import render_background
from maskops_assets.synthetic.camera import apply_camera_look, sample_camera_look
from maskops_assets.synthetic.domain import SceneDomain
from maskops_assets.synthetic.faces import FaceStyle, render_face, sample_face_style

# Tries per face to find a free spot; a face that finds none is left out, so a
# crowded domain on a small image yields fewer faces rather than overlapping ones.
_PLACEMENT_TRIES = 60
# Faces are a bit taller than wide.
_FACE_ASPECT = (0.72, 0.84)


@dataclass(frozen=True)
class PlacedFace:
    """A face and where it sits: pixel box, top-left inclusive, bottom-right exclusive."""

    x1: int
    y1: int
    x2: int
    y2: int
    style: FaceStyle

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    def annotation(self) -> BoxAnnotation:
        return BoxAnnotation(
            x1=float(self.x1),
            y1=float(self.y1),
            x2=float(self.x2),
            y2=float(self.y2),
            class_name=self.style.class_name,
        )

    def moved_to(self, x1: int, y1: int) -> PlacedFace:
        return PlacedFace(x1, y1, x1 + self.width, y1 + self.height, self.style)


def boxes_overlap(a: PlacedFace, b: PlacedFace, gap: float = 0.0) -> bool:
    """True when the boxes are closer than ``gap`` pixels (0: when they share any pixel)."""
    return not (a.x2 + gap <= b.x1 or b.x2 + gap <= a.x1 or a.y2 + gap <= b.y1 or b.y2 + gap <= a.y1)


def draw_class(domain: SceneDomain, rng: np.random.Generator) -> str:
    names = list(domain.class_weights)
    weights = np.asarray([domain.class_weights[name] for name in names], np.float64)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def place_faces(domain: SceneDomain, rng: np.random.Generator, width: int, height: int) -> list[PlacedFace]:
    """Draw how many faces, their classes, looks, sizes and free spots inside the image."""
    wanted = int(rng.integers(domain.faces_per_image[0], domain.faces_per_image[1] + 1))
    shorter = min(width, height)
    placed: list[PlacedFace] = []
    for _ in range(wanted):
        face_h = max(8, round(rng.uniform(*domain.face_scale) * shorter))
        face_w = max(6, round(face_h * rng.uniform(*_FACE_ASPECT)))
        if face_w > width or face_h > height:
            continue
        style = sample_face_style(domain, rng, draw_class(domain, rng))
        for _ in range(_PLACEMENT_TRIES):
            x1 = int(rng.integers(0, width - face_w + 1))
            y1 = int(rng.integers(0, height - face_h + 1))
            candidate = PlacedFace(x1, y1, x1 + face_w, y1 + face_h, style)
            if not any(
                boxes_overlap(candidate, other, domain.face_gap * min(face_h, other.height))
                for other in placed
            ):
                placed.append(candidate)
                break
    return placed


def compose(background: np.ndarray, faces: list[PlacedFace]) -> np.ndarray:
    """Blend every face onto a copy of ``background`` at its box."""
    image = background.astype(np.float32)
    for face in faces:
        patch, alpha = render_face(face.style, face.width, face.height)
        region = image[face.y1 : face.y2, face.x1 : face.x2]
        weight = alpha[..., None]
        region[:] = patch.astype(np.float32) * weight + region * (1.0 - weight)
    return np.clip(image, 0, 255).astype(np.uint8)


def render_scene(
    domain: SceneDomain, rng: np.random.Generator, width: int, height: int
) -> tuple[np.ndarray, list[BoxAnnotation]]:
    """One still: ``(height, width, 3)`` uint8 BGR image and a box per face (pixel xyxy)."""
    kind = domain.backgrounds[int(rng.integers(len(domain.backgrounds)))]
    background = render_background(kind, rng, width, height)
    faces = place_faces(domain, rng, width, height)
    look = sample_camera_look(domain, rng)
    image = apply_camera_look(compose(background, faces), look, rng)
    return image, [face.annotation() for face in faces]
