"""The detector on real ONNX Runtime with small ONNX graphs built in the test (no torch)."""

import numpy as np
import pytest

from edge_agent.detector import Detector, DetectorConfig, ModelLoadError, load_detector
from maskops_contracts import CLASS_NAMES


def _load(path, **cfg):
    cfg = DetectorConfig(runtime="onnxruntime", threads=1, **cfg)
    return load_detector(path, model_version="v1", cfg=cfg)


def test_detects_maps_boxes_to_a_wide_frame_and_keeps_class_probs(make_yolo_onnx):
    path = make_yolo_onnx(
        [
            ((16.0, 24.0, 32.0, 40.0), (0.55, 0.40, 0.05)),
            ((17.0, 25.0, 33.0, 41.0), (0.50, 0.10, 0.00)),  # same face, weaker: NMS drops it
            ((0.0, 0.0, 8.0, 8.0), (0.9, 0.0, 0.0)),  # entirely in the top padding: dropped
        ],
        imgsz=64,
    )
    detector = _load(path)
    assert isinstance(detector, Detector)
    assert (detector.imgsz, detector.class_names, detector.runtime) == (64, CLASS_NAMES, "onnxruntime")
    detector.warmup(1)
    # 256x128 frame into 64 px: scale 0.25, content 64x32, 16 px of padding above and below.
    result = detector.detect(np.full((128, 256, 3), 90, np.uint8))
    assert len(result.detections) == 1
    det = result.detections[0]
    np.testing.assert_allclose(det.box, (64, 32, 128, 96), atol=1e-3)
    assert det.class_name == "with_mask"
    assert det.confidence == pytest.approx(0.55, abs=1e-6)
    np.testing.assert_allclose(det.class_probs, (0.55, 0.40, 0.05), atol=1e-6)
    assert result.inference_ms > 0


def test_output_follows_the_input(make_yolo_onnx):
    """The graph scales its scores by 2 x the input mean: a dark frame falls under the threshold."""
    path = make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.6, 0.2, 0.1))], scale_by_brightness=True)
    detector = _load(path, conf_threshold=0.3)
    assert len(detector.detect(np.full((64, 64, 3), 128, np.uint8)).detections) == 1
    assert detector.detect(np.zeros((64, 64, 3), np.uint8)).detections == []


def test_models_trained_with_another_class_order_report_contract_order(make_yolo_onnx):
    names = ("without_mask", "mask_weared_incorrect", "with_mask")
    path = make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.7, 0.2, 0.1))], names=names)
    det = _load(path).detect(np.zeros((64, 64, 3), np.uint8)).detections[0]
    assert det.class_name == "without_mask"
    np.testing.assert_allclose(det.class_probs, (0.1, 0.7, 0.2), atol=1e-6)


def test_thresholds_from_config(make_yolo_onnx):
    boxes = [((4.0 + 6 * i, 4.0, 8.0 + 6 * i, 8.0), (0.3 + 0.1 * i, 0.0, 0.0)) for i in range(5)]
    path = make_yolo_onnx(boxes)
    assert len(_load(path, conf_threshold=0.45).detect(np.zeros((64, 64, 3), np.uint8)).detections) == 3
    assert len(_load(path, max_detections=2).detect(np.zeros((64, 64, 3), np.uint8)).detections) == 2


def test_garbage_file_raises_model_load_error_naming_it(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(ModelLoadError, match=r"model\.onnx: not a loadable ONNX model"):
        _load(bad)


def test_missing_file_raises_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model file"):
        _load(tmp_path / "absent.onnx")


def test_wrong_classes_are_refused_at_load(make_yolo_onnx):
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1))], names=("person", "car"))
    with pytest.raises(ModelLoadError, match="not the maskops classes"):
        _load(path)


def test_imgsz_conflicting_with_a_static_model_is_refused(make_yolo_onnx):
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))], imgsz=64)
    with pytest.raises(ModelLoadError, match="exported for imgsz 64, not 320"):
        load_detector(path, model_version="v1", cfg=DetectorConfig(runtime="onnxruntime"), imgsz=320)


def test_non_image_input_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "identity.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelLoadError, match=r"identity\.onnx: expected an NCHW image input"):
        _load(path)


def test_openvino_without_the_package_says_how_to_fix(make_yolo_onnx, monkeypatch):
    import edge_agent.detector.base as base

    monkeypatch.setattr(base, "openvino_available", lambda: False)
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))])
    assert base.resolve_runtime("auto") == "onnxruntime"
    with pytest.raises(ModelLoadError, match="openvino is not installed"):
        load_detector(path, model_version="v1", cfg=DetectorConfig(runtime="openvino"))


def test_threads_are_set_explicitly_on_the_session(make_yolo_onnx, monkeypatch):
    import onnxruntime as ort

    seen = []
    real = ort.InferenceSession

    def spy(path, options=None, **kwargs):
        seen.append(options.intra_op_num_threads)
        return real(path, options, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", spy)
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))])
    load_detector(path, model_version="v1", cfg=DetectorConfig(runtime="onnxruntime", threads=3, streams=1))
    # two passes at once share the threads: 2 each
    load_detector(path, model_version="v1", cfg=DetectorConfig(runtime="onnxruntime", threads=4, streams=2))
    # the default: one stream per thread (at most 4), one thread each
    detector = load_detector(path, model_version="v1", cfg=DetectorConfig(runtime="onnxruntime", threads=3))
    assert seen == [3, 2, 1]
    assert detector.streams == 3
