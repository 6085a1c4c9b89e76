"""The contract between the two halves: the edge agent's own pipeline (letterbox, OpenVINO or
ONNX Runtime, decode, NMS; no torch) finds on a released model what ultralytics finds with the
same weights, on a wide (16:9) camera frame that the dynamic export runs without square padding.

The two downscale differently (the edge averages pixels with INTER_AREA, as ultralytics' own
validation does, so the edge sees what the evaluation gate measured; ultralytics' predictor
samples bilinearly), so ultralytics is given the frame already scaled by the edge's factor and
its boxes are scaled back: what is compared is geometry, padding, decoding and NMS. Both run NMS
at the edge's IoU threshold, 0.45 (ultralytics' default is 0.7).

Nothing here depends on what the tiny model learned, nor on the CPU:

- both sides compute in float32: the edge detector at ``precision: fp32`` (OpenVINO would run
  bfloat16 by itself on CPUs with AMX), ultralytics' torch on the CPU;
- both keep every box (confidence threshold 0), so there is always something to compare, even
  from a model that scores every face near zero;
- step by step: the same letterboxed input, the same raw output (to float32 noise), then the
  same detections: the ``TOP_K`` best boxes per frame of each side are among all of the other's
  (all, so near-equal confidences trading places at the K-th do not matter; both ways, so an
  NMS that keeps too much fails as well as one that keeps too little). Where two anchors give
  overlapping boxes of one class the same score (to the measured noise of the two runtimes),
  NMS may keep either: the other side then has the other box, and that counts as the same.
"""

import cv2
import numpy as np
import pytest

from edge_agent.detector import DetectorConfig, load_detector
from edge_agent.detector.letterbox import letterbox, to_input_tensor
from maskops_assets.synthetic.dataset import generate_dataset
from maskops_assets.training.export import export_onnx
from maskops_assets.training.ultralytics_env import prepare_ultralytics

pytestmark = pytest.mark.slow

IOU_NMS = 0.45  # the edge's default, given to both
MAX_DETECTIONS = 300  # ultralytics' default, given to both
TOP_K = 5  # the best boxes of each side checked per frame
#: float32 on both sides agrees to ~1e-4 px on a box and ~1e-9 on a score (measured); bf16 would
#: be off by about a pixel and 1e-3 of a score.
BOX_ATOL_PX = 0.01
SCORE_ATOL = 1e-4
#: The same box on both sides (a box shifted by a pixel is not).
SAME_BOX_IOU = 0.99
#: Boxes narrower than this (frame pixels) are not compared: the edge drops what clipping to the
#: frame leaves of a box in the padding, and a sliver's IoU is all rounding.
SLIVER_PX = 1.0


def _iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def release(tiny_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    exported = export_onnx(tiny_models["good"].weights, out / "model", imgsz=96, model_version="m-v1")
    data_yaml = generate_dataset(out / "wide", 6, image_size=(256, 144), seed=7, splits={"test": 1.0})
    frames = [cv2.imread(str(p)) for p in sorted((data_yaml.parent / "images" / "test").glob("*.jpg"))]
    assert len(frames) == 6 and frames[0].shape == (144, 256, 3)
    return exported, frames, out


def _ultralytics_input_and_output(reference, scaled) -> tuple[np.ndarray, np.ndarray]:
    """The tensor ultralytics' predictor feeds its model for ``scaled``, and the raw output."""
    import torch

    predictor = reference.predictor  # set up by a predict() call
    tensor = predictor.preprocess([scaled])
    with torch.inference_mode():
        raw = predictor.model(tensor)
    raw = raw[0] if isinstance(raw, list | tuple) else raw
    return tensor.numpy(), raw.numpy()


Box = tuple[tuple[float, float, float, float], str, float]  # frame pixels, class, confidence


def _best(boxes: list[Box]) -> list[Box]:
    """The ``TOP_K`` most confident boxes that are more than slivers (and score above 0: the edge
    keeps a box scoring exactly 0, ultralytics does not)."""
    ranked = sorted(boxes, key=lambda b: -b[2])
    wide = [b for b in ranked if min(b[0][2] - b[0][0], b[0][3] - b[0][1]) >= SLIVER_PX and b[2] > 0]
    return wide[:TOP_K]


def _count_among(best: list[Box], kept: list[Box], anchor_scores: np.ndarray, tie: float, what: str):
    """(found, tied): each box of ``best`` is in ``kept`` (same class and box, same confidence),
    or ``kept`` has an overlapping box of its class that as many as two anchors score alike
    (NMS may keep either of two boxes of equal score). Raises naming the box that is neither."""
    found = tied = 0
    for box, name, conf in best:
        same_class = [(other, _iou(box, other), abs(c - conf)) for other, n, c in kept if n == name]
        if any(iou > SAME_BOX_IOU and gap <= SCORE_ATOL for _, iou, gap in same_class):
            found += 1
        elif (
            any(iou > IOU_NMS and gap <= tie for _, iou, gap in same_class)
            and np.count_nonzero(np.abs(anchor_scores - conf) <= tie) >= 2
        ):
            tied += 1
        else:
            ranked = sorted(same_class, key=lambda m: -m[1])
            near = [(round(iou, 3), [round(v, 2) for v in other]) for other, iou, _ in ranked]
            raise AssertionError(
                f"{what} {name} {conf:.6g} at {[round(v, 2) for v in box]}, which the other does not; "
                f"its nearest boxes of that class (IoU, box): {near[:3]}"
            )
    return found, tied


@pytest.mark.parametrize("runtime", ["openvino", "onnxruntime"])
def test_edge_detections_match_ultralytics_on_the_released_model(release, runtime):
    exported, frames, out = release
    prepare_ultralytics(out / ".ultralytics")
    from ultralytics import YOLO

    reference = YOLO(str(exported.weights))
    cfg = DetectorConfig(
        runtime=runtime,
        precision="fp32",
        threads=1,
        conf_threshold=0.0,
        iou_threshold=IOU_NMS,
        max_detections=MAX_DETECTIONS,
    )
    detector = load_detector(exported.onnx, model_version="m-v1", cfg=cfg)
    assert detector.precision == "fp32"
    assert detector.dynamic and detector.input_shape_for((144, 256)) == (64, 96)  # not 96x96
    scale = 96 / 256
    found = tied = 0
    for frame in frames:
        scaled = cv2.resize(frame, (96, 54), interpolation=cv2.INTER_AREA)
        result = reference.predict(
            scaled, imgsz=96, conf=0.0, iou=IOU_NMS, max_det=MAX_DETECTIONS, device="cpu", verbose=False
        )[0].boxes

        # 1. the same input: the edge's letterbox is ultralytics' (64x96, grey bands above and below)
        their_input, their_raw = _ultralytics_input_and_output(reference, scaled)
        boxed, _ = letterbox(frame, detector.input_shape_for(frame.shape[:2]))
        assert their_input.shape == (1, 3, 64, 96)
        np.testing.assert_allclose(to_input_tensor(boxed), their_input, rtol=0, atol=1e-6)

        # 2. the same raw output (1, 4 + nc, anchors): boxes in input pixels, then class scores
        our_raw, _ = detector.backend.submit(boxed).result()
        assert our_raw.shape == their_raw.shape
        np.testing.assert_allclose(our_raw[0, :4], their_raw[0, :4], rtol=0, atol=BOX_ATOL_PX)
        np.testing.assert_allclose(our_raw[0, 4:], their_raw[0, 4:], rtol=0, atol=SCORE_ATOL)
        tie = 2 * float(np.abs(our_raw[0, 4:] - their_raw[0, 4:]).max())  # what noise can reorder

        # 3. the same detections: the best boxes of each side are among all of the other's
        detections = detector.detect(frame).detections
        # class_probs sum to 1 (scores summing under 1e-12, background of a trained model, stay as they are)
        assert all(abs(sum(d.class_probs) - 1.0) < 1e-4 for d in detections if d.confidence >= 1e-12)
        ours: list[Box] = [(d.box, d.class_name, d.confidence) for d in detections]
        rows = zip(result.xyxy.tolist(), result.cls.tolist(), result.conf.tolist(), strict=True)
        theirs: list[Box] = [(tuple(v / scale for v in b), reference.names[int(c)], s) for b, c, s in rows]
        assert _best(theirs), f"ultralytics kept no box wider than {SLIVER_PX} px at confidence 0"
        for best, kept, raw, what in (
            (_best(theirs), ours, their_raw, f"{runtime}: ultralytics found"),
            (_best(ours), theirs, our_raw, f"{runtime}: the edge found"),
        ):
            f, t = _count_among(best, kept, raw[0, 4:].max(axis=0), tie, what)
            found, tied = found + f, tied + t
    assert found > tied and found + tied >= 2 * len(frames)  # ties are the exception
