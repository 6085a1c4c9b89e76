"""The OpenVINO backend (part of the edge extra) gives the same detections as ONNX Runtime."""

import numpy as np

from edge_agent.detector import DetectorConfig, load_detector


def test_openvino_matches_onnxruntime(make_yolo_onnx):
    path = make_yolo_onnx(
        [((16.0, 24.0, 32.0, 40.0), (0.55, 0.40, 0.05)), ((40.0, 8.0, 60.0, 30.0), (0.1, 0.2, 0.8))],
        scale_by_brightness=True,
    )
    frame = np.full((128, 256, 3), 128, np.uint8)
    results = {}
    for runtime in ("onnxruntime", "openvino"):
        detector = load_detector(path, model_version="v1", cfg=DetectorConfig(runtime=runtime, threads=1))
        assert detector.runtime == runtime
        detector.warmup(1)
        results[runtime] = detector.detect(frame).detections
    assert len(results["openvino"]) == len(results["onnxruntime"]) == 2
    for ov, ort in zip(results["openvino"], results["onnxruntime"], strict=True):
        assert ov.class_name == ort.class_name
        np.testing.assert_allclose(ov.box, ort.box, atol=1e-2)
        np.testing.assert_allclose(ov.class_probs, ort.class_probs, atol=1e-4)


def test_auto_prefers_openvino_when_installed(make_yolo_onnx):
    path = make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.9, 0.05, 0.05))])
    assert load_detector(path, model_version="v1", cfg=DetectorConfig(threads=1)).runtime == "openvino"
