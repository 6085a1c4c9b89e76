"""Dynamic-shape models get a minimal rectangular input; several frames can be in flight at once.

Both runtimes, real graphs (built in the test): what the edge runs for a released model.
"""

import numpy as np
import pytest

from edge_agent.detector import DetectorConfig, load_detector

RUNTIMES = ("onnxruntime", "openvino")


def _load(path, runtime, **cfg):
    return load_detector(path, model_version="v1", cfg=DetectorConfig(runtime=runtime, threads=2, **cfg))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dynamic_model_runs_a_wide_frame_on_a_wide_input(make_yolo_onnx, runtime):
    # The table's box sits at input pixels (16, 8)-(32, 24); a 256x128 frame at imgsz 64 is
    # scaled by 0.25 to 64x32, which already fits a (32, 64) input: no padding at all.
    path = make_yolo_onnx([((16.0, 8.0, 32.0, 24.0), (0.55, 0.40, 0.05))], imgsz=64, dynamic=True)
    detector = _load(path, runtime, streams=1)
    assert detector.dynamic and detector.imgsz == 64
    assert detector.input_shape_for((128, 256)) == (32, 64)
    result = detector.detect(np.full((128, 256, 3), 90, np.uint8))
    assert [d.class_name for d in result.detections] == ["with_mask"]
    # no vertical padding: input y 8..24 is frame y 32..96 (on a square input it would be 0..64)
    np.testing.assert_allclose(result.detections[0].box, (64, 32, 128, 96), atol=1e-3)
    assert detector.frame_sizes == frozenset({(128, 256)})


def test_dynamic_model_imgsz_comes_from_metadata_or_the_caller(make_yolo_onnx):
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))], imgsz=96, dynamic=True)
    assert _load(path, "onnxruntime").imgsz == 96  # metadata written by the export
    forced = load_detector(path, model_version="v1", cfg=DetectorConfig(runtime="onnxruntime"), imgsz=128)
    assert forced.imgsz == 128 and forced.input_shape_for((480, 640)) == (96, 128)


def test_static_model_keeps_its_own_input_shape(make_yolo_onnx):
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))], imgsz=64)
    detector = _load(path, "onnxruntime")
    assert not detector.dynamic
    assert detector.input_shape_for((480, 640)) == (64, 64)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("streams", [1, 2, 3])
def test_frames_in_flight_give_what_one_at_a_time_gives(make_yolo_onnx, runtime, streams):
    """Scores follow each frame's brightness, so a mixed-up or shared output buffer would show."""
    path = make_yolo_onnx(
        [((16.0, 16.0, 48.0, 48.0), (0.6, 0.3, 0.1))], imgsz=64, scale_by_brightness=True, dynamic=True
    )
    frames = [np.full((32, 64, 3), level, np.uint8) for level in (40, 90, 128, 160, 200, 250)]
    one_by_one = [_load(path, runtime, streams=1).detect(f).detections for f in frames]
    detector = _load(path, runtime, streams=streams)
    assert detector.streams == streams
    pending = [detector.submit(f) for f in frames]  # more than `streams` at once: they queue
    in_flight = [p.result().detections for p in pending]
    assert [len(d) for d in in_flight] == [len(d) for d in one_by_one]
    for got, want in zip(in_flight, one_by_one, strict=True):
        for a, b in zip(got, want, strict=True):
            assert a.confidence == pytest.approx(b.confidence, abs=1e-4)
            np.testing.assert_allclose(a.box, b.box, atol=1e-2)
    assert sorted({len(d) for d in in_flight}) == [0, 1]  # the dark frames really fall under 0.25


def test_warmup_compiles_the_input_shapes_of_the_frame_sizes_it_is_given(make_yolo_onnx):
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))], imgsz=320, dynamic=True)
    detector = _load(path, "openvino")
    detector.warmup(1, frame_sizes=frozenset({(480, 640), (720, 1280)}))
    # the square input of the class check is released once real frame sizes are known
    assert set(detector.backend._pools) == {(256, 320), (192, 320)}
    assert detector.frame_sizes == frozenset()  # warm-up frames are not camera frames
    detector.detect(np.zeros((480, 640, 3), np.uint8))
    assert detector.frame_sizes == frozenset({(480, 640)})


def test_openvino_compiles_each_input_shape_once(make_yolo_onnx):
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))], imgsz=64, dynamic=True)
    detector = _load(path, "openvino", streams=2)
    backend = detector.backend
    compiled_at_load = set(backend._pools)  # the class check at load ran a square pass
    assert compiled_at_load == {(64, 64)}
    compiled = []
    for _ in range(3):
        detector.detect(np.zeros((16, 64, 3), np.uint8))  # a (32, 64) input
        detector.detect(np.zeros((64, 16, 3), np.uint8))  # a (64, 32) input
        compiled.append((backend._pools[(32, 64)].compiled, backend._pools[(64, 32)].compiled))
    assert all(pair[0] is compiled[0][0] and pair[1] is compiled[0][1] for pair in compiled)
    # the square of the class check went once real frames came: no frame needs it
    assert set(backend._pools) == {(32, 64), (64, 32)}


def test_an_openvino_pass_is_collected_once(make_yolo_onnx):
    """Its inference request goes back to the pool on collection and may carry another frame."""
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))], imgsz=64, dynamic=True)
    backend = _load(path, "openvino", streams=2).backend
    pending = backend.submit(np.zeros((64, 64, 3), np.uint8))
    pending.result()
    assert pending.done()
    with pytest.raises(RuntimeError, match="already collected"):
        pending.result()


def test_openvino_threads_streams_and_pinning_are_set_explicitly(make_yolo_onnx):
    path = make_yolo_onnx([((1.0, 1.0, 9.0, 9.0), (0.9, 0.1, 0.0))], imgsz=64, dynamic=True)
    backend = _load(path, "openvino", streams=2).backend
    compiled = backend.compiled_model(64, 64)
    assert compiled.get_property("INFERENCE_NUM_THREADS") == 2
    assert compiled.get_property("NUM_STREAMS") == 2
    assert compiled.get_property("ENABLE_CPU_PINNING") is False  # the camera threads share the cores
    # set too, never OpenVINO's own pick (bf16 on AMX): a model by path runs fp32 on any CPU
    assert compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name() == "f32"
