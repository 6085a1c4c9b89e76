import numpy as np
import pytest

from maskops_assets.synthetic.faces import FaceStyle, render_face

SKIN = (140, 170, 220)
MASK = (200, 60, 40)  # a strong blue, far from any skin tone


def _style(class_name: str) -> FaceStyle:
    return FaceStyle(
        class_name=class_name,
        skin_bgr=SKIN,
        hair_bgr=(20, 20, 25),
        has_hair=False,
        mask_bgr=MASK,
        mask_pattern="solid",
        eye_height=0.4,
        eye_spread=0.17,
        gaze=0.0,
    )


def _mean_colour(patch: np.ndarray, y0: float, y1: float) -> np.ndarray:
    """Mean BGR over the face's middle third, between heights y0 and y1 (fractions)."""
    h, w = patch.shape[:2]
    return patch[int(y0 * h) : int(y1 * h), w // 3 : 2 * w // 3].reshape(-1, 3).mean(axis=0)


def _closer_to_mask_than_skin(colour: np.ndarray) -> bool:
    return bool(np.linalg.norm(colour - MASK) < np.linalg.norm(colour - SKIN))


@pytest.mark.parametrize(
    ("class_name", "nose_masked", "mouth_masked"),
    [("without_mask", False, False), ("with_mask", True, True), ("mask_weared_incorrect", False, True)],
)
def test_mask_covers_what_the_class_says(class_name: str, nose_masked: bool, mouth_masked: bool) -> None:
    patch, _ = render_face(_style(class_name), 60, 80)
    nose = _mean_colour(patch, 0.52, 0.62)
    mouth = _mean_colour(patch, 0.76, 0.84)
    assert _closer_to_mask_than_skin(nose) is nose_masked
    assert _closer_to_mask_than_skin(mouth) is mouth_masked


def test_alpha_is_an_ellipse_filling_the_box() -> None:
    patch, alpha = render_face(_style("with_mask"), 40, 52)
    assert patch.shape == (52, 40, 3) and alpha.shape == (52, 40)
    assert alpha[26, 20] == pytest.approx(1.0)
    assert alpha[0, 0] == pytest.approx(0.0)
    # The head touches all four sides of its box, so the box is tight.
    assert alpha[0, :].max() > 0.3 and alpha[-1, :].max() > 0.3
    assert alpha[:, 0].max() > 0.3 and alpha[:, -1].max() > 0.3


def test_too_small_face_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4x4"):
        render_face(_style("with_mask"), 3, 10)
