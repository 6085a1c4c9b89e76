import cv2
import numpy as np

from maskops_assets.synthetic.domain import SceneDomain
from maskops_assets.synthetic.scenes import render_scene
from maskops_contracts.classes import CLASS_NAMES


def _scene(seed: int, domain: SceneDomain | None = None, size: int = 128):
    return render_scene(domain or SceneDomain.default(), np.random.default_rng(seed), size, size)


def test_same_seed_gives_the_same_pixels_and_boxes() -> None:
    image_a, boxes_a = _scene(7)
    image_b, boxes_b = _scene(7)
    assert image_a.tobytes() == image_b.tobytes()
    assert boxes_a == boxes_b


def test_different_seeds_give_different_scenes() -> None:
    image_a, _ = _scene(1)
    image_b, _ = _scene(2)
    assert image_a.tobytes() != image_b.tobytes()


def test_boxes_lie_inside_the_image_and_never_overlap() -> None:
    crowded = SceneDomain(faces_per_image=(4, 8), face_scale=(0.2, 0.4))
    for seed in range(25):
        image, boxes = _scene(seed, crowded, size=120)
        assert image.shape == (120, 120, 3) and image.dtype == np.uint8
        assert boxes, f"seed {seed} placed no face"
        for box in boxes:
            assert 0 <= box.x1 < box.x2 <= 120 and 0 <= box.y1 < box.y2 <= 120
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                separated = a.x2 <= b.x1 or b.x2 <= a.x1 or a.y2 <= b.y1 or b.y2 <= a.y1
                assert separated, f"seed {seed}: {a} overlaps {b}"


def test_every_class_appears() -> None:
    seen = {box.class_name for seed in range(20) for box in _scene(seed)[1]}
    assert seen == set(CLASS_NAMES)


def test_class_weights_pick_the_classes() -> None:
    only_bare = SceneDomain(class_weights={"without_mask": 1.0})
    seen = {box.class_name for seed in range(10) for box in _scene(seed, only_bare)[1]}
    assert seen == {"without_mask"}


def _statistics(domain: SceneDomain) -> dict[str, float]:
    brightness, sharpness, blue_over_red, face_height = [], [], [], []
    for seed in range(20):
        image, boxes = _scene(seed, domain, size=160)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        brightness.append(grey.mean())
        sharpness.append(cv2.Laplacian(grey, cv2.CV_64F).var())
        blue_over_red.append(image[..., 0].mean() / max(1.0, image[..., 2].mean()))
        face_height.extend((b.y2 - b.y1) / 160 for b in boxes)
    return {
        "brightness": float(np.mean(brightness)),
        "sharpness": float(np.median(sharpness)),
        "blue_over_red": float(np.mean(blue_over_red)),
        "face_height": float(np.mean(face_height)),
    }


def test_shifted_domain_is_measurably_darker_bluer_blurrier_with_smaller_faces() -> None:
    base = _statistics(SceneDomain.default())
    shifted = _statistics(SceneDomain.shifted())
    assert shifted["brightness"] < base["brightness"] - 30
    assert shifted["blue_over_red"] > base["blue_over_red"] * 1.3
    # Blur lowers the variance of the Laplacian even though the shifted domain has more noise.
    assert shifted["sharpness"] < base["sharpness"] / 2
    assert shifted["face_height"] < base["face_height"] * 0.75
