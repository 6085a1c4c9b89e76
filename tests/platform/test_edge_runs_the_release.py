"""The contract between the two halves: the edge agent's own pipeline (letterbox, OpenVINO or
ONNX Runtime, decode, NMS; no torch) finds on a released model what ultralytics finds with the
same weights, on a wide (16:9) camera frame that the dynamic export runs without square padding.

The two downscale differently (the edge averages pixels with INTER_AREA, as ultralytics' own
validation does, so the edge sees what the evaluation gate measured; ultralytics' predictor
samples bilinearly), so ultralytics is given the frame already scaled by the edge's factor and
its boxes are scaled back: what is compared is geometry, padding, decoding and NMS."""

import cv2
import pytest

from edge_agent.detector import DetectorConfig, load_detector
from maskops_assets.synthetic.dataset import generate_dataset
from maskops_assets.training.export import export_onnx
from maskops_assets.training.ultralytics_env import prepare_ultralytics

pytestmark = pytest.mark.slow


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


@pytest.mark.parametrize("runtime", ["openvino", "onnxruntime"])
def test_edge_detections_match_ultralytics_on_the_released_model(release, runtime):
    exported, frames, out = release
    prepare_ultralytics(out / ".ultralytics")
    from ultralytics import YOLO

    reference = YOLO(str(exported.weights))
    cfg = DetectorConfig(runtime=runtime, threads=1, conf_threshold=0.25, iou_threshold=0.45)
    detector = load_detector(exported.onnx, model_version="m-v1", cfg=cfg)
    assert detector.dynamic and detector.input_shape_for((144, 256)) == (64, 96)  # not 96x96
    matched = compared = 0
    scale = 96 / 256
    for frame in frames:
        scaled = cv2.resize(frame, (96, 54), interpolation=cv2.INTER_AREA)
        theirs = reference.predict(scaled, imgsz=96, conf=0.25, iou=0.45, device="cpu", verbose=False)
        theirs = theirs[0].boxes  # the edge's NMS IoU threshold is 0.45 (ultralytics': 0.7)
        ours = detector.detect(frame).detections
        assert all(abs(sum(d.class_probs) - 1.0) < 1e-4 for d in ours)
        rows = zip(theirs.xyxy.tolist(), theirs.cls.tolist(), theirs.conf.tolist(), strict=True)
        for box, cls, conf in rows:
            compared += 1
            name = reference.names[int(cls)]
            box = [v / scale for v in box]
            same = [d for d in ours if d.class_name == name and _iou(box, d.box) > 0.9]
            matched += bool(same) and abs(same[0].confidence - conf) < 0.02
    assert compared >= 3, "the tiny model found too few faces to compare"
    assert matched == compared
