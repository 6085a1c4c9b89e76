"""Evaluation of a tiny trained model: per-class numbers, confusion matrix, PR curve, latency, PNGs."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from maskops_assets.evaluation.latency import measure_onnx_latency
from maskops_assets.evaluation.metrics import EvaluationError, EvaluationResult, evaluate_model
from maskops_assets.evaluation.plots import render_plots
from maskops_assets.training.export import export_onnx
from maskops_contracts import CLASS_NAMES

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def evaluated(tiny_models, tiny_data_yaml, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation")
    exported = export_onnx(tiny_models["good"].weights, out / "export", imgsz=96, model_version="m-v1")
    result = evaluate_model(
        exported.weights,
        tiny_data_yaml,
        "test",
        imgsz=96,
        onnx_for_latency=exported.onnx,
        latency_runs=5,
        out_dir=out,
    )
    return result, exported, out


def test_evaluation_reports_per_class_metrics_and_confusion_matrix(evaluated, tiny_data_yaml):
    result, _, _ = evaluated
    assert result.split == "test" and result.instances > 0
    assert result.images == len(list((tiny_data_yaml.parent / "images" / "test").glob("*.jpg")))
    assert 0.0 <= result.map50_95 <= result.map50 <= 1.0
    assert list(result.per_class) == list(CLASS_NAMES)
    judged = [m for m in result.per_class.values() if m.recall is not None]
    assert judged and all(0.0 <= m.recall <= 1.0 and m.instances > 0 for m in judged)
    assert len(result.confusion_matrix) == len(CLASS_NAMES) + 1
    assert result.confusion_labels[-1] == "background"
    # every ground-truth box lands in some column of the confusion matrix
    assert sum(sum(row) for row in result.confusion_matrix) >= result.instances
    assert len(result.pr_curve["recall"]) == 101
    assert result.latency_ms is not None and result.latency_ms > 0


def test_evaluation_round_trips_through_json_dict(evaluated):
    result, _, _ = evaluated
    assert EvaluationResult.from_dict(result.to_dict()) == result


def test_plots_are_png_files(evaluated):
    result, _, out = evaluated
    plots = render_plots(result, out / "plots", champion=result)
    assert set(plots) == {"confusion_matrix", "pr_curve", "per_class"}
    for path in plots.values():
        assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 2000


def test_onnx_model_can_be_evaluated_directly(evaluated, tiny_data_yaml):
    result, exported, out = evaluated
    onnx_result = evaluate_model(exported.onnx, tiny_data_yaml, "test", imgsz=96, latency_runs=3, out_dir=out)
    assert onnx_result.latency_ms is not None
    assert onnx_result.map50 == pytest.approx(result.map50, abs=0.1)


def test_latency_of_the_dynamic_export_needs_imgsz(evaluated):
    _, exported, _ = evaluated
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


def test_missing_split_is_an_actionable_error(evaluated, tmp_path):
    _, exported, _ = evaluated
    with pytest.raises(EvaluationError, match="does not exist"):
        evaluate_model(exported.weights, tmp_path / "none.yaml", "test")


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
