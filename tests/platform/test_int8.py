"""The INT8 variant: NNCF post-training quantization, its measurement through the edge pipeline,
the ``int8_gate`` verdict and what reaches the release manifest.

Nothing here depends on what the tiny model learned. The broken calibration is one black frame:
NNCF then sets the range of the quantizer on the model input below one grey level (checked), so the
INT8 model sees every real frame as the same saturated picture and gives the same boxes on every
image. The test split is built so that fp32 scores mAP50 1.0 by construction (its ground truth is
fp32's own confident boxes on a real frame, next to a plain grey frame where it is less confident)
and identical boxes on both frames score at most 0.5 (every true positive has an equal-scored twin
on the grey frame, ranked first): a drop of at least 0.5, far over ``int8_max_drop``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from maskops_assets.evaluation.gates import GatePolicy
from maskops_assets.evaluation.metrics import (
    MAP_CONF_THRESHOLD,
    MAP_MAX_DETECTIONS,
    EdgeSettings,
    EvaluationResult,
    evaluate_on_edge,
    split_images,
)
from maskops_assets.evaluation.report import INT8, MeasuredVariant, ModelEvaluation, int8_verdict
from maskops_assets.lineage import TrainedModel
from maskops_assets.training.export import ExportedModel, export_onnx
from maskops_assets.training.quantize import (
    MODEL_INT8,
    QuantizationError,
    calibration_images,
    edge_input,
    quantize_onnx,
    quantize_release,
)
from maskops_contracts import CLASS_NAMES, sha256_file

pytest.importorskip("openvino")
pytest.importorskip("nncf")

IMGSZ = 96
OPENVINO_FP32 = EdgeSettings(runtime="openvino", precision="fp32")


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def exported(tiny_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8_export")
    return export_onnx(tiny_models["good"].weights, out, imgsz=IMGSZ, model_version="m-v1")


@pytest.fixture(scope="module")
def quantized(exported, tiny_data_yaml):
    """The INT8 model of ``exported``, calibrated the way a release is (``quantize_release``)."""
    lines: list[str] = []
    warnings: list[str] = []
    result = quantize_release(exported, tiny_data_yaml, 300, log=lines.append, warn=warnings.append)
    assert result is not None, warnings
    return result, lines


def _detector(onnx: Path):
    from edge_agent.detector import DetectorConfig, load_detector

    cfg = DetectorConfig(
        runtime="openvino",
        precision="fp32",
        threads=1,
        streams=1,
        conf_threshold=MAP_CONF_THRESHOLD,
        max_detections=MAP_MAX_DETECTIONS,
    )
    return load_detector(onnx, model_version="m-v1", cfg=cfg, imgsz=IMGSZ)


def _ov_model(path: Path):
    import openvino as ov

    from edge_agent.detector.ov_archive import read_ov_archive

    xml, weights, _ = read_ov_archive(path)
    return ov.Core().read_model(xml, weights)


def _input_quantizer_range(path: Path) -> float:
    """The largest value the quantizer on the model input passes (above it, everything clips),
    checking that the input reaches the network only through that quantizer."""
    model = _ov_model(path)
    consumers = [t.get_node() for t in model.inputs[0].get_target_inputs()]
    kinds = [node.get_type_name() for node in consumers]
    assert set(kinds) <= {"FakeQuantize", "ShapeOf"} and "FakeQuantize" in kinds, kinds
    (quantize,) = [node for node in consumers if node.get_type_name() == "FakeQuantize"]
    input_high = quantize.input_value(2).get_node()
    return float(np.max(input_high.get_data()))


# ---------------------------------------------------------------- calibration data
def test_calibration_images_are_a_seeded_sample_of_the_training_split(tiny_data_yaml):
    train = sorted(image.image for image in split_images(tiny_data_yaml, "train")[0])
    five = calibration_images(tiny_data_yaml, 5)
    assert len(five) == 5 and set(five) <= set(train)
    assert calibration_images(tiny_data_yaml, 5) == five  # same dataset version, same calibration
    assert calibration_images(tiny_data_yaml, 0) == train  # 0: all
    assert calibration_images(tiny_data_yaml, len(train) + 100) == train  # fewer than asked: all
    with pytest.raises(QuantizationError, match="split 'nope'"):
        calibration_images(tiny_data_yaml, 5, split="nope")


def test_calibration_input_is_the_edge_letterbox():
    """A 640x480 frame at imgsz 320 calibrates on the 256x320 input a camera feeds, in [0, 1] RGB."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[..., 0] = 255  # blue in BGR
    tensor = edge_input(frame, 320)
    assert tensor.shape == (1, 3, 256, 320) and tensor.dtype == np.float32
    assert tensor[0, 2, 128, 160] == 1.0 and tensor[0, 0, 128, 160] == 0.0  # RGB: blue is channel 2
    assert tensor[0, 1, 0, 0] == pytest.approx(114 / 255)  # the letterbox's grey padding


# ---------------------------------------------------------------- the INT8 export
def test_the_int8_export_is_one_openvino_file_that_the_edge_detector_runs(
    quantized, exported, tiny_data_yaml
):
    from edge_agent.detector.ov_archive import is_ov_archive

    int8, lines = quantized
    assert int8.path == exported.directory / MODEL_INT8 and int8.path.is_file()
    assert is_ov_archive(int8.path) and not is_ov_archive(exported.onnx)
    assert int8.source_sha256 == exported.sha256 != int8.sha256
    assert any("quantized model.onnx to INT8" in line for line in lines)
    assert "FakeQuantize" in {op.get_type_name() for op in _ov_model(int8.path).get_ordered_ops()}
    detector = _detector(int8.path)
    assert detector.precision == "int8"
    # the metadata the edge reads (class names, stride) survived quantization
    assert tuple(detector.class_names) == CLASS_NAMES
    assert detector.runtime == "openvino"
    images, _ = split_images(tiny_data_yaml, "test")
    for image in images[:4]:
        frame = cv2.imread(str(image.image))
        result = detector.detect(frame)
        height, width = frame.shape[:2]
        for d in result.detections:
            x1, y1, x2, y2 = d.box
            assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
            assert d.class_name in CLASS_NAMES and MAP_CONF_THRESHOLD <= d.confidence <= 1.0


def test_quantize_release_warns_and_ships_no_int8_when_it_cannot_quantize(exported, tmp_path):
    empty = tmp_path / "empty"
    (empty / "images" / "train").mkdir(parents=True)
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_text(f"path: {empty}\ntrain: images/train\nval: images/train\nnames:\n  0: with_mask\n")
    warnings: list[str] = []
    assert quantize_release(exported, data_yaml, 10, log=lambda _: None, warn=warnings.append) is None
    assert len(warnings) == 1 and "no INT8 model for this release" in warnings[0]
    with pytest.raises(QuantizationError, match="no calibration images"):
        quantize_onnx(exported.onnx, [], tmp_path / "x.onnx", imgsz=IMGSZ)


# ---------------------------------------------------------------- the broken calibration
# A detector built by construction (no training): the 96 px input is cut into 3 x 3 cells of 32 px;
# class c scores sigmoid(20 * (mean of RGB channel c over the cell - 0.5)) in that cell, whose box is
# the cell. A cell lit at 255 in channel c scores 0.99995, a dark one (grey level 1) 0.00005, below
# the mAP threshold 0.001: fp32 finds exactly the lit cells (mAP50 1.0 on labels that name them).
CELL, GRID, GAIN = 32, 3, 20.0


def _cell_detector(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    side, n, nc = CELL * GRID, GRID * GRID, len(CLASS_NAMES)
    weight = np.zeros((nc, 3, CELL, CELL), np.float32)
    for c in range(nc):
        weight[c, c] = GAIN / (CELL * CELL)
    boxes = np.array(
        [[(j + 0.5) * CELL, (i + 0.5) * CELL, CELL, CELL] for i in range(GRID) for j in range(GRID)],
        np.float32,
    ).T[np.newaxis]
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["images", "w", "b"], ["logits"], strides=[CELL, CELL]),
            helper.make_node("Sigmoid", ["logits"], ["cells"]),
            helper.make_node("Reshape", ["cells", "flat"], ["scores"]),
            helper.make_node("Concat", ["boxes", "scores"], ["output0"], axis=1),
        ],
        "cell_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + nc, n])],
        [
            numpy_helper.from_array(weight, "w"),
            numpy_helper.from_array(np.full(nc, -GAIN / 2, np.float32), "b"),
            numpy_helper.from_array(np.array([1, nc, n], np.int64), "flat"),
            numpy_helper.from_array(boxes, "boxes"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": str(dict(enumerate(CLASS_NAMES))), "imgsz": str([side, side])})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _lit_frame(k: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """A dark frame (grey level 1, never 0) with two cells lit, and its (class, row, column) list."""
    frame = np.ones((CELL * GRID, CELL * GRID, 3), np.uint8)
    lit = [(k % 3, (k // 3) % GRID, k % GRID), ((k + 1) % 3, (k // 3 + 1) % GRID, (k + 2) % GRID)]
    for c, i, j in lit:
        frame[i * CELL : (i + 1) * CELL, j * CELL : (j + 1) * CELL, 2 - c] = 255  # BGR: RGB channel c
    return frame, lit


def _cell_dataset(root: Path) -> Path:
    """train and test splits of lit frames, labelled with their lit cells (YOLO layout)."""
    side = CELL * GRID
    for split, ks in (("train", range(0, 9)), ("test", range(9, 18))):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for k in ks:
            frame, lit = _lit_frame(k)
            assert cv2.imwrite(str(root / "images" / split / f"{k:03d}.png"), frame)  # lossless
            lines = [
                f"{c} {(j + 0.5) * CELL / side} {(i + 0.5) * CELL / side} {CELL / side} {CELL / side}"
                for c, i, j in lit
            ]
            (root / "labels" / split / f"{k:03d}.txt").write_text("\n".join(lines) + "\n")
    names = "".join(f"  {k}: {n}\n" for k, n in enumerate(CLASS_NAMES))
    data_yaml = root / "data.yaml"
    data_yaml.write_text(
        f"path: {root}\ntrain: images/train\nval: images/train\ntest: images/test\nnames:\n{names}"
    )
    return data_yaml


@pytest.fixture(scope="module")
def cell_release(tmp_path_factory):
    """The cell detector as an export (model.onnx), its labelled data, and fp32 on OpenVINO on it."""
    root = tmp_path_factory.mktemp("cells")
    (root / "export").mkdir()
    onnx_path = _cell_detector(root / "export" / "model.onnx")
    data_yaml = _cell_dataset(root / "data")
    model = ExportedModel(
        root / "export",
        onnx_path,
        root / "export" / "model.pt",
        root / "export" / "metadata.json",
        sha256_file(onnx_path),
        CELL * GRID,
        CLASS_NAMES,
    )
    fp32 = evaluate_on_edge(
        onnx_path, data_yaml, "test", imgsz=CELL * GRID, settings=OPENVINO_FP32, latency_runs=0
    )
    assert fp32.map50 == pytest.approx(1.0)  # the construction: fp32 finds exactly the lit cells
    return model, data_yaml, fp32


def _evaluation(
    onnx_sha256: str, variants: tuple[MeasuredVariant, ...], fp32: EvaluationResult
) -> ModelEvaluation:
    candidate = TrainedModel(
        model_version="m-v1",
        mlflow_run_id="run-1",
        registered_version="1",
        weights="model.pt",
        onnx="model.onnx",
        onnx_sha256=onnx_sha256,
        dataset_version="dataset-v1",
        imgsz=IMGSZ,
    )
    return ModelEvaluation(
        candidate=candidate, policy=GatePolicy(), candidate_results={"test": fp32}, variants=variants
    )


def test_a_blank_calibration_is_blocked_and_never_reaches_the_manifest(cell_release, tmp_path):
    """Calibrated on one black frame, the input quantizer's range ends below one grey level, so
    every frame reaches the network as the same dark picture: no cell lights, nothing is found
    (mAP50 0 against fp32's 1.0). The verdict, the manifest and the check all say so."""
    import dagster as dg

    from maskops_assets.defs.evaluation import int8_gate
    from maskops_assets.defs.release import _model_ref

    exported, data_yaml, fp32 = cell_release
    black = np.zeros((CELL * GRID, CELL * GRID, 3), np.uint8)
    broken = quantize_onnx(exported.onnx, [black], tmp_path / MODEL_INT8, imgsz=CELL * GRID)
    assert _input_quantizer_range(broken.path) < 1 / 255  # every pixel (>= 1 grey level) clips
    int8 = evaluate_on_edge(
        broken.path, data_yaml, "test", imgsz=CELL * GRID, settings=OPENVINO_FP32, latency_runs=0
    )
    assert int8.map50 == 0.0

    verdict = int8_verdict(fp32, int8, broken.sha256, max_drop=0.01)
    assert not verdict.ships and verdict.drop == pytest.approx(1.0)
    assert "over int8_max_drop 0.0100" in verdict.reason

    gated = MeasuredVariant("openvino", "fp32", fp32.map50, fp32.map50_95, True, "the gated figure")
    evaluation = _evaluation(exported.sha256, (gated, verdict), fp32)
    ref = _model_ref(evaluation)
    assert [(v.precision, v.runtime) for v in ref.variants] == [("fp32", "openvino")]
    assert ref.variant(INT8, "openvino") is None
    assert all(v.sha256 == exported.sha256 for v in ref.variants) and broken.sha256 != exported.sha256

    check = int8_gate(model_evaluation=evaluation)
    assert isinstance(check, dg.AssetCheckResult)
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.WARN
    assert "left out of the release manifest" in check.description
    assert check.metadata["in_manifest"].value is False
    assert check.metadata["drop"].value == pytest.approx(1.0)


def test_a_proper_calibration_ships_with_its_own_file(cell_release):
    """Calibrated on the training split, the input keeps its full range (u8 pixels quantize exactly)
    and the weights are 0 or one value per channel (exact in int8): the lit cells still score near 1,
    the others near 0, so INT8 scores what fp32 scores and ships under its own uri and sha256."""
    from maskops_assets.defs.release import _model_ref

    exported, data_yaml, fp32 = cell_release
    warnings: list[str] = []
    good = quantize_release(exported, data_yaml, 0, log=lambda _: None, warn=warnings.append)
    assert good is not None, warnings
    assert good.calibration_images == 9 and good.path == exported.directory / MODEL_INT8
    int8 = evaluate_on_edge(
        good.path, data_yaml, "test", imgsz=CELL * GRID, settings=OPENVINO_FP32, latency_runs=0
    )
    assert int8.map50 == pytest.approx(1.0)
    verdict = int8_verdict(fp32, int8, good.sha256, max_drop=0.01)
    assert verdict.ships
    gated = MeasuredVariant("openvino", "fp32", fp32.map50, fp32.map50_95, True, "the gated figure")
    ref = _model_ref(_evaluation(exported.sha256, (gated, verdict), fp32))
    listed = ref.variant(INT8, "openvino")
    assert listed is not None and (listed.uri, listed.sha256) == ("models/m-v1/model_int8.zip", good.sha256)


# ---------------------------------------------------------------- the verdict on figures
def _result(map50: float, runtime: str = "openvino", split: str = "test") -> EvaluationResult:
    return EvaluationResult(
        model="m.onnx",
        data_yaml="data.yaml",
        split=split,
        images=1,
        instances=1,
        map50=map50,
        map50_95=map50 / 2,
        precision=0.0,
        recall=0.0,
        per_class={},
        confusion_matrix=[],
        confusion_labels=[],
        pr_curve={},
        runtime=runtime,
        inference_precision="fp32",
    )


@pytest.mark.parametrize(
    ("fp32", "int8", "max_drop", "ships"),
    [
        (0.80, 0.80, 0.01, True),
        (0.80, 0.795, 0.01, True),
        (0.80, 0.79, 0.01, True),  # exactly the allowed drop
        (0.80, 0.7899, 0.01, False),
        (0.80, 0.85, 0.0, True),  # a gain
        (0.80, 0.78, 0.05, True),
        (0.80, 0.0, 0.01, False),
    ],
)
def test_int8_verdict_on_figures(fp32, int8, max_drop, ships):
    verdict = int8_verdict(_result(fp32), _result(int8), "c" * 64, max_drop)
    assert (verdict.precision, verdict.runtime, verdict.ships) == (INT8, "openvino", ships)
    assert verdict.reference_map50 == fp32 and verdict.max_drop == max_drop and verdict.sha256 == "c" * 64


def test_int8_is_judged_only_against_fp32_measured_the_same_way():
    for other in (_result(0.8, runtime="onnxruntime"), _result(0.8, split="val")):
        with pytest.raises(ValueError, match="measure both the same way"):
            int8_verdict(other, _result(0.8), "c" * 64, 0.01)


def test_an_int8_that_ships_is_listed_with_its_own_file(tmp_path):
    from maskops_assets.defs.release import _model_ref

    fp32 = _result(0.8)
    gated = MeasuredVariant("openvino", "fp32", 0.8, 0.4, True, "the gated figure")
    good = int8_verdict(fp32, _result(0.799), "c" * 64, 0.01)
    ref = _model_ref(_evaluation("a" * 64, (gated, good), fp32))
    int8 = ref.variant(INT8, "openvino")
    assert int8 is not None and (int8.uri, int8.sha256) == ("models/m-v1/model_int8.zip", "c" * 64)
    assert (ref.uri, ref.sha256) == ("models/m-v1/model.onnx", "a" * 64)


def test_int8_gate_passes_a_good_int8_and_says_when_there_is_none(tmp_path):
    import dagster as dg

    from maskops_assets.defs.evaluation import int8_gate

    fp32 = _result(0.8)
    gated = MeasuredVariant("openvino", "fp32", 0.8, 0.4, True, "the gated figure")
    good = int8_gate(
        model_evaluation=_evaluation(
            "a" * 64, (gated, int8_verdict(fp32, _result(0.8), "c" * 64, 0.01)), fp32
        )
    )
    assert good.passed is True and good.metadata["in_manifest"].value is True
    none = int8_gate(model_evaluation=_evaluation("a" * 64, (gated,), fp32))
    assert none.passed is True and none.metadata["int8"].value == "not measured"
    assert isinstance(none, dg.AssetCheckResult)


# ---------------------------------------------------------------- publishing
def test_publish_puts_the_int8_file_beside_the_model(quantized, exported, tmp_path):
    from maskops_assets.release.publish import publish_model
    from maskops_assets.store import LocalObjectStore

    int8, _ = quantized
    store = LocalObjectStore(tmp_path / "store")
    published = publish_model(store, exported, "m-v1", int8)
    assert published.int8_key == "models/m-v1/model_int8.zip"
    assert store.get_bytes(published.int8_key) == int8.path.read_bytes()
    assert publish_model(LocalObjectStore(tmp_path / "other"), exported, "m-v1").int8_key is None


def test_the_int8_picture_is_a_png_beside_the_figures(tmp_path):
    from maskops_assets.evaluation.metrics import ClassMetrics
    from maskops_assets.evaluation.plots import plot_int8_vs_fp32

    def with_classes(result: EvaluationResult, ap50: float) -> EvaluationResult:
        per_class = {n: ClassMetrics(0.5, 0.5, ap50, ap50 / 2, 3) for n in CLASS_NAMES}
        return EvaluationResult(**{**result.__dict__, "per_class": per_class})

    path = plot_int8_vs_fp32(
        with_classes(_result(0.8), 0.8), with_classes(_result(0.7), 0.7), tmp_path / "int8.png", max_drop=0.01
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
