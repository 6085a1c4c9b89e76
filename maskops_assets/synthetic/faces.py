"""Draw one cartoon face, bare, masked, or with the mask pulled below the nose.

A face is drawn into its own patch (the patch is the face's bounding box) with an
alpha channel, so a scene can paste it anywhere and the label box is exactly the
patch. The three classes differ where a detector has to look:

- ``without_mask``: eyes, nose with nostrils and a red mouth all visible;
- ``with_mask``: the mask runs from just under the eyes to the chin, hiding nose and mouth;
- ``mask_weared_incorrect``: the same mask sits on mouth and chin only, the whole
  nose above it in plain view.

Drawing happens at ``SUPERSAMPLE`` times the size and is shrunk with area
averaging, so even a 30-pixel face has smooth edges instead of aliased stairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskops_assets.synthetic.domain import MaskPattern, SceneDomain

SUPERSAMPLE = 4

Colour = tuple[int, int, int]

_HAIR_COLOURS: tuple[Colour, ...] = (
    (20, 20, 25),
    (30, 50, 80),
    (60, 90, 130),
    (140, 140, 150),
    (40, 80, 150),
)
_MOUTH_COLOUR: Colour = (70, 60, 170)
_PUPIL_COLOUR: Colour = (40, 25, 20)

# Mask outlines as (x, y) fractions of the face box, clockwise from the left cheek.
# A worn mask starts under the eyes (0.47) so it hides the nose; a pulled-down
# one starts under the nostrils (0.69) so the nose stays visible above it.
_MASK_OUTLINE = {
    "with_mask": ((0.06, 0.52), (0.5, 0.47), (0.94, 0.52), (0.92, 0.80), (0.5, 1.0), (0.08, 0.80)),
    "mask_weared_incorrect": ((0.08, 0.72), (0.5, 0.69), (0.92, 0.72), (0.9, 0.88), (0.5, 1.0), (0.1, 0.88)),
}


@dataclass(frozen=True)
class FaceStyle:
    """Every random choice about one face, so the same face can be redrawn frame after frame."""

    class_name: str
    skin_bgr: Colour
    hair_bgr: Colour
    has_hair: bool
    mask_bgr: Colour
    mask_pattern: MaskPattern
    # Small offsets (fractions of the face size) that keep faces from being clones.
    eye_height: float
    eye_spread: float
    gaze: float


def sample_face_style(domain: SceneDomain, rng: np.random.Generator, class_name: str) -> FaceStyle:
    """Draw a face's look from the domain's skin tones, mask colours and patterns."""
    skin = domain.skin_tones_bgr[rng.integers(len(domain.skin_tones_bgr))]
    mask = domain.mask_colours_bgr[rng.integers(len(domain.mask_colours_bgr))]
    pattern = domain.mask_patterns[rng.integers(len(domain.mask_patterns))]
    hair = _HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))]
    return FaceStyle(
        class_name=class_name,
        skin_bgr=_jitter_colour(skin, rng, 12),
        hair_bgr=hair,
        has_hair=bool(rng.random() < 0.7),
        mask_bgr=_jitter_colour(mask, rng, 10),
        mask_pattern=pattern,
        eye_height=float(rng.uniform(0.38, 0.42)),
        eye_spread=float(rng.uniform(0.15, 0.19)),
        gaze=float(rng.uniform(-0.03, 0.03)),
    )


def render_face(style: FaceStyle, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``style`` into a ``(height, width, 3)`` uint8 BGR patch and a ``(height, width)`` float alpha.

    Alpha is 1 inside the head and 0 outside, with soft edges; the patch is meant
    to be blended onto a background at the face's box.
    """
    if width < 4 or height < 4:
        raise ValueError(f"a face needs at least 4x4 pixels, got {width}x{height}")
    w, h = width * SUPERSAMPLE, height * SUPERSAMPLE
    canvas = np.zeros((h, w, 3), np.uint8)
    head = np.zeros((h, w), np.uint8)
    centre = (w // 2, h // 2)
    cv2.ellipse(head, centre, (w // 2 - 1, h // 2 - 1), 0, 0, 360, 255, -1, cv2.LINE_AA)
    canvas[:] = style.skin_bgr

    if style.has_hair:
        _draw_hair(canvas, style.hair_bgr, w, h)
    _draw_eyes(canvas, style, w, h)
    _draw_nose(canvas, style.skin_bgr, w, h)
    cv2.ellipse(
        canvas, _pt(w, h, 0.5, 0.79), _axes(w, h, 0.14, 0.04), 0, 0, 360, _MOUTH_COLOUR, -1, cv2.LINE_AA
    )
    if style.class_name in _MASK_OUTLINE:
        _draw_mask(canvas, style, w, h)

    patch = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(head, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return patch, alpha


def _draw_hair(canvas: np.ndarray, colour: Colour, w: int, h: int) -> None:
    # A cap of hair over the forehead, ending well above the eyebrows.
    cv2.ellipse(canvas, _pt(w, h, 0.5, 0.2), _axes(w, h, 0.55, 0.16), 0, 0, 360, colour, -1, cv2.LINE_AA)


def _draw_eyes(canvas: np.ndarray, style: FaceStyle, w: int, h: int) -> None:
    brow = _shade(style.skin_bgr, 0.45)
    for side in (-1, 1):
        cx = 0.5 + side * style.eye_spread
        cy = style.eye_height
        cv2.line(
            canvas,
            _pt(w, h, cx - 0.08, cy - 0.07),
            _pt(w, h, cx + 0.08, cy - 0.075),
            brow,
            max(1, int(0.025 * h)),
            cv2.LINE_AA,
        )
        cv2.ellipse(
            canvas, _pt(w, h, cx, cy), _axes(w, h, 0.085, 0.04), 0, 0, 360, (245, 245, 245), -1, cv2.LINE_AA
        )
        radius = max(1, int(0.035 * w))
        cv2.circle(canvas, _pt(w, h, cx + style.gaze, cy), radius, _PUPIL_COLOUR, -1, cv2.LINE_AA)


def _draw_nose(canvas: np.ndarray, skin: Colour, w: int, h: int) -> None:
    ridge = np.array([_pt(w, h, 0.5, 0.45), _pt(w, h, 0.4, 0.64), _pt(w, h, 0.6, 0.64)], np.int32)
    cv2.fillPoly(canvas, [ridge], _shade(skin, 0.72), cv2.LINE_AA)
    for side in (-1, 1):
        cv2.ellipse(
            canvas,
            _pt(w, h, 0.5 + side * 0.045, 0.635),
            _axes(w, h, 0.03, 0.018),
            0,
            0,
            360,
            _shade(skin, 0.3),
            -1,
            cv2.LINE_AA,
        )


def _draw_mask(canvas: np.ndarray, style: FaceStyle, w: int, h: int) -> None:
    outline = np.array([_pt(w, h, x, y) for x, y in _MASK_OUTLINE[style.class_name]], np.int32)
    top_y = outline[:, 1].min() / h
    # Ear loops first, so the mask body covers where they attach.
    strap = _shade(style.mask_bgr, 0.8)
    for x_edge, x_face in ((0.0, 0.08), (1.0, 0.92)):
        cv2.line(
            canvas,
            _pt(w, h, x_edge, top_y - 0.08),
            _pt(w, h, x_face, top_y + 0.06),
            strap,
            max(1, int(0.02 * h)),
            cv2.LINE_AA,
        )
    region = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillPoly(region, [outline], 255, cv2.LINE_AA)
    fabric = np.empty_like(canvas)
    fabric[:] = style.mask_bgr
    _draw_pattern(fabric, style.mask_pattern, style.mask_bgr, w, h, top_y)
    weight = region[..., None].astype(np.float32) / 255.0
    canvas[:] = (fabric * weight + canvas * (1.0 - weight)).astype(np.uint8)
    cv2.polylines(canvas, [outline], True, _shade(style.mask_bgr, 0.6), max(1, int(0.012 * h)), cv2.LINE_AA)


def _draw_pattern(
    fabric: np.ndarray, pattern: MaskPattern, colour: Colour, w: int, h: int, top_y: float
) -> None:
    ink = _shade(colour, 0.55)
    if pattern == "striped":
        step = max(2, int(0.07 * h))
        for y in range(int(top_y * h), h, step):
            cv2.line(fabric, (0, y), (w, y), ink, max(1, step // 3))
    elif pattern == "dotted":
        step = max(3, int(0.08 * w))
        radius = max(1, step // 4)
        for row, y in enumerate(range(int(top_y * h), h, step)):
            for x in range((step // 2) * (row % 2), w, step):
                cv2.circle(fabric, (x, y), radius, ink, -1, cv2.LINE_AA)
    elif pattern == "pleated":
        # Surgical masks: three horizontal folds across the middle of the mask.
        span = 1.0 - top_y
        for fraction in (0.25, 0.45, 0.65):
            y = int((top_y + fraction * span) * h)
            cv2.line(fabric, (0, y), (w, y), ink, max(1, int(0.018 * h)), cv2.LINE_AA)


def _pt(w: int, h: int, fx: float, fy: float) -> tuple[int, int]:
    return round(fx * w), round(fy * h)


def _axes(w: int, h: int, fx: float, fy: float) -> tuple[int, int]:
    return max(1, round(fx * w)), max(1, round(fy * h))


def _shade(colour: Colour, factor: float) -> Colour:
    return tuple(int(min(255, max(0, c * factor))) for c in colour)  # type: ignore[return-value]


def _jitter_colour(colour: tuple[int, int, int], rng: np.random.Generator, spread: int) -> Colour:
    jitter = rng.integers(-spread, spread + 1, size=3)
    return tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(colour, jitter, strict=True))  # type: ignore[return-value]
