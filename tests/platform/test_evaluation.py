"""Evaluation of a released model through the edge pipeline: COCO mAP, operating-point confusion
matrix, per-class numbers, PR curve, latency, PNGs.

Every assertion holds whatever the tiny model learned (it is trained from scratch for a few epochs
and learns different things on different CPUs): the figures are checked against an independent
COCO implementation fed the edge detector's own output, and against counts taken from that output.
"""

from datetime import UTC, datetime
from pathlib import Path

import cv2
import pytest

from edge_agent.detector import DetectorConfig, load_detector
from maskops_assets.datasets.yolo import read_yolo
from maskops_assets.evaluation.crosscheck import faster_coco_map
from maskops_assets.evaluation.latency import measure_onnx_latency
from maskops_assets.evaluation.metrics import (
    MAP_CONF_THRESHOLD,
    EdgeSettings,
    EvaluationError,
    EvaluationResult,
    evaluate_on_edge,
)
from maskops_assets.evaluation.operating_point import LabeledBox
from maskops_assets.evaluation.plots import render_plots
from maskops_assets.training.export import export_onnx
from maskops_contracts import CLASS_NAMES

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def evaluated(tiny_models, tiny_data_yaml, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation")
    exported = export_onnx(tiny_models["good"].weights, out / "export", imgsz=96, model_version="m-v1")
    lines: list[str] = []
    result = evaluate_on_edge(
        exported.onnx, tiny_data_yaml, "test", imgsz=96, latency_runs=5, progress=lines.append
    )
    return result, exported, out, lines


def _edge_output(onnx: Path, data_yaml: Path, runtime: str = "auto"):
    """The edge detector's own boxes on every test image, as a camera would run it (fp32)."""
    cfg = DetectorConfig(
        runtime=runtime, precision="fp32", threads=1, streams=1, conf_threshold=MAP_CONF_THRESHOLD
    )
    detector = load_detector(onnx, model_version="m-v1", cfg=cfg, imgsz=96)
    images = [i for i in read_yolo(data_yaml).images if i.split == "test"]
    return images, [detector.detect(cv2.imread(str(i.image))).detections for i in images]


def test_gate_figures_are_cocoeval_of_the_edge_detectors_output(evaluated, tiny_data_yaml):
    """An independent COCO evaluator (faster-coco-eval) on the edge detector's own boxes gives the
    figures the gate recorded: the gate measures what the camera runs."""
    result, exported, _, _ = evaluated
    images, outputs = _edge_output(exported.onnx, tiny_data_yaml)
    index = {name: k for k, name in enumerate(CLASS_NAMES)}
    pairs = [
        (
            [LabeledBox((b.x1, b.y1, b.x2, b.y2), index[b.class_name]) for b in image.boxes],
            [LabeledBox(d.box, index[d.class_name], d.confidence) for d in found],
        )
        for image, found in zip(images, outputs, strict=True)
    ]
    expected_map50, expected_map = faster_coco_map(pairs, len(CLASS_NAMES))
    assert result.map50 == pytest.approx(expected_map50, abs=1e-6)
    assert result.map50_95 == pytest.approx(expected_map, abs=1e-6)
    assert result.runtime in {"openvino", "onnxruntime"} and result.inference_precision == "fp32"


def test_confusion_matrix_is_drawn_at_the_cameras_threshold(evaluated, tiny_data_yaml):
    result, exported, _, _ = evaluated
    assert result.conf_threshold == DetectorConfig().conf_threshold  # the edge's own default
    _, outputs = _edge_output(exported.onnx, tiny_data_yaml)
    kept = [d for found in outputs for d in found if d.confidence >= result.conf_threshold]
    matrix = result.confusion_matrix
    # rows are predictions: all of them but the background row are exactly the boxes a camera keeps
    assert sum(sum(row) for row in matrix[:-1]) == len(kept)
    # columns are the truth: every ground-truth box lands once, in its own class's column
    for k, name in enumerate(CLASS_NAMES):
        assert sum(row[k] for row in matrix) == result.per_class[name].instances
    assert matrix[-1][-1] == 0  # a missed face and a box on nothing are never the same cell


def test_evaluation_reports_per_class_metrics(evaluated, tiny_data_yaml):
    result, _, _, lines = evaluated
    assert result.split == "test" and result.instances > 0
    assert result.images == len(list((tiny_data_yaml.parent / "images" / "test").glob("*.jpg")))
    assert 0.0 <= result.map50_95 <= result.map50 <= 1.0
    assert list(result.per_class) == list(CLASS_NAMES)
    judged = [m for m in result.per_class.values() if m.recall is not None]
    assert judged and all(0.0 <= m.recall <= 1.0 and m.instances > 0 for m in judged)
    assert all(m.ap50 is not None and 0.0 <= m.ap50_95 <= m.ap50 <= 1.0 for m in judged)
    assert len(result.confusion_matrix) == len(CLASS_NAMES) + 1
    assert result.confusion_labels[-1] == "background"
    assert len(result.pr_curve["recall"]) == 101
    assert result.latency_ms is not None and result.latency_ms > 0
    assert len(lines) == 1 and "via the edge pipeline" in lines[0] and "mAP50" in lines[0]


def test_evaluation_round_trips_through_json_dict(evaluated):
    result, _, _, _ = evaluated
    assert EvaluationResult.from_dict(result.to_dict()) == result


def test_plots_are_png_files(evaluated):
    result, _, out, _ = evaluated
    plots = render_plots(result, out / "plots", champion=result)
    assert set(plots) == {"confusion_matrix", "pr_curve", "per_class"}
    for path in plots.values():
        assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 2000


def test_both_runtimes_run_the_evaluation(evaluated, tiny_data_yaml):
    result, exported, _, _ = evaluated
    other = "onnxruntime" if result.runtime == "openvino" else "openvino"
    theirs = evaluate_on_edge(
        exported.onnx,
        tiny_data_yaml,
        "test",
        imgsz=96,
        latency_runs=0,
        settings=EdgeSettings(runtime=other, precision="fp32"),
    )
    assert theirs.runtime == other and theirs.latency_ms is None
    assert theirs.images == result.images and theirs.instances == result.instances


def test_latency_of_the_dynamic_export_needs_imgsz(evaluated):
    _, exported, _, _ = evaluated
    with pytest.raises(ValueError, match=r"model\.onnx has a dynamic input height.*pass imgsz"):
        measure_onnx_latency(exported.onnx, runs=1)
    stats = measure_onnx_latency(exported.onnx, imgsz=96, runs=3, warmup=1)
    assert stats.runs == 3 and 0 < stats.median_ms <= stats.p90_ms


def test_latency_of_toy_graphs_static_and_dynamic(toy_onnx):
    static = toy_onnx("static.onnx", [1, 3, 64, 64])
    assert measure_onnx_latency(static, runs=2).runs == 2  # static dims need no imgsz
    assert measure_onnx_latency(static, imgsz=64, runs=2).runs == 2
    dynamic = toy_onnx("dynamic.onnx", ["batch", 3, "height", "width"])
    with pytest.raises(ValueError, match=r"dynamic\.onnx has a dynamic input height"):
        measure_onnx_latency(dynamic, runs=2)
    assert measure_onnx_latency(dynamic, imgsz=64, runs=2).median_ms > 0
    # a graph that only runs at 96 x 96 shows imgsz is the size timed, not 1 x 1
    only_96 = toy_onnx("only96.onnx", ["batch", 3, "height", "width"], reshape=(1, 7, 9))
    assert measure_onnx_latency(only_96, imgsz=96, runs=2).runs == 2
    with pytest.raises(Exception, match=r"(?i)reshape"):
        measure_onnx_latency(only_96, imgsz=64, runs=2)


def test_missing_data_and_split_are_actionable_errors(evaluated, tiny_data_yaml, tmp_path):
    _, exported, _, _ = evaluated
    with pytest.raises(EvaluationError, match="does not exist"):
        evaluate_on_edge(exported.onnx, tmp_path / "none.yaml", "test", imgsz=96)
    with pytest.raises(EvaluationError, match=r"split 'holdout'.*has no images"):
        evaluate_on_edge(exported.onnx, tiny_data_yaml, "holdout", imgsz=96)


def test_recent_data_is_the_newest_reviewed_batch(tmp_path):
    import yaml

    from maskops_assets.evaluation.recent import newest_reviewed_set, shifted_set
    from maskops_assets.labels.reviewed import import_label_batch
    from maskops_assets.store import LocalObjectStore
    from maskops_assets.synthetic.dataset import generate_dataset

    store = LocalObjectStore(tmp_path / "store")
    assert newest_reviewed_set(store, tmp_path / "cache") is None  # nothing reviewed yet

    shifted = yaml.safe_load(shifted_set(tmp_path / "cache", n_images=3, seed=1, imgsz=64).read_text())
    assert {"train", "val", "test"} <= set(shifted)
    assert len(list((Path(shifted["path"]) / shifted["test"]).glob("*.jpg"))) == 3

    older = generate_dataset(tmp_path / "older", 3, seed=2, image_size=64, splits={"train": 1.0})
    newer = generate_dataset(tmp_path / "newer", 4, seed=3, image_size=64, splits={"train": 1.0})
    import_label_batch(store, older.parent, "yolo", now=datetime(2026, 1, 1, tzinfo=UTC))
    batch = import_label_batch(store, newer.parent, "yolo", now=datetime(2026, 1, 2, tzinfo=UTC))
    data_yaml, batch_id = newest_reviewed_set(store, tmp_path / "cache")
    assert batch_id == batch.label_batch_id
    data = yaml.safe_load(data_yaml.read_text())
    assert len(list((Path(data["path"]) / data["test"]).glob("*.jpg"))) == 4
