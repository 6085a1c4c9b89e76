"""Measure a detector on one split of a YOLO dataset: the numbers the gate and the reviewer read.

``evaluate_model`` runs ultralytics' validator on a ``.pt`` (or an exported ``.onnx``) and turns
its result into a plain, JSON-serialisable ``EvaluationResult``: mAP50, mAP50-95, per-class
precision/recall/AP, the confusion matrix, PR curve points, and the median ONNX latency.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maskops_assets.evaluation.latency import measure_onnx_latency
from maskops_assets.training.ultralytics_env import prepare_ultralytics

PR_POINTS = 101  # recall grid of the stored PR curve; 0.00, 0.01, ..., 1.00


class EvaluationError(RuntimeError):
    """A model could not be evaluated; the message names the model, the data and what to do."""


@dataclass(frozen=True)
class ClassMetrics:
    """One class on one split; None where the split has no ground truth of that class."""

    precision: float | None
    recall: float | None
    ap50: float | None
    ap50_95: float | None
    instances: int


@dataclass(frozen=True)
class EvaluationResult:
    """A model's numbers on one split; ``confusion_matrix[pred][true]`` with background last."""

    model: str
    data_yaml: str
    split: str
    images: int
    instances: int
    map50: float
    map50_95: float
    precision: float
    recall: float
    per_class: dict[str, ClassMetrics]
    confusion_matrix: list[list[float]]
    confusion_labels: list[str]
    pr_curve: dict[str, list[float]]  # "recall" grid and one precision list per class
    latency_ms: float | None = None
    latency_p90_ms: float | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def class_recalls(self) -> dict[str, float | None]:
        return {name: metrics.recall for name, metrics in self.per_class.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        values = dict(data)
        values["per_class"] = {name: ClassMetrics(**m) for name, m in data["per_class"].items()}
        return cls(**values)


def evaluate_model(
    weights_or_onnx: Path | str,
    data_yaml: Path | str,
    split: str = "test",
    *,
    imgsz: int = 160,
    onnx_for_latency: Path | str | None = None,
    latency_runs: int = 30,
    out_dir: Path | str | None = None,
    batch: int = 8,
) -> EvaluationResult:
    """Validate ``weights_or_onnx`` on ``split`` of ``data_yaml``; time ONNX latency if there is a graph.

    Latency uses ``onnx_for_latency``, or the model itself when it is an ``.onnx``; otherwise it is
    left None (and the latency gate will say so).
    """
    model_path = Path(weights_or_onnx)
    data_yaml = Path(data_yaml)
    for path, what in ((model_path, "model"), (data_yaml, "dataset data.yaml")):
        if not path.is_file():
            raise EvaluationError(f"{what} {path} does not exist")
    out_dir = Path(out_dir or model_path.parent / "eval").resolve()
    prepare_ultralytics(out_dir / ".ultralytics")
    from ultralytics import YOLO

    started = time.monotonic()
    is_onnx = model_path.suffix == ".onnx"
    print(f"evaluating {model_path.name} on split '{split}' of {data_yaml} ...", flush=True)
    model = YOLO(str(model_path), task="detect")
    try:
        metrics = model.val(
            data=str(data_yaml),
            split=split,
            imgsz=imgsz,
            batch=1 if is_onnx else batch,  # one image at a time, as an edge camera runs the graph
            device="cpu",
            workers=0,
            plots=True,  # ultralytics only fills the confusion matrix when plotting
            verbose=False,
            project=str(out_dir),
            name=f"{model_path.stem}-{split}",
            exist_ok=True,
        )
    except (FileNotFoundError, KeyError) as err:
        raise EvaluationError(
            f"cannot evaluate {model_path} on split '{split}' of {data_yaml}: {err}; "
            f"check that the data.yaml has a '{split}' entry pointing at existing images"
        ) from err

    names = [metrics.names[i] for i in sorted(metrics.names)]
    per_class, pr_curve = _per_class(metrics, names)
    matrix = (
        metrics.confusion_matrix.matrix if getattr(metrics, "confusion_matrix", None) is not None else None
    )
    confusion = [[float(v) for v in row] for row in matrix] if matrix is not None else []
    precision, recall, map50, map50_95 = (float(v) for v in metrics.mean_results())

    latency_ms = latency_p90 = None
    onnx_path = model_path if is_onnx else (Path(onnx_for_latency) if onnx_for_latency else None)
    if onnx_path is not None:
        stats = measure_onnx_latency(onnx_path, imgsz=imgsz, runs=latency_runs)
        latency_ms, latency_p90 = stats.median_ms, stats.p90_ms

    return EvaluationResult(
        model=str(model_path),
        data_yaml=str(data_yaml),
        split=split,
        images=len(getattr(metrics.box, "image_metrics", {}) or {}),
        instances=int(sum(m.instances for m in per_class.values())),
        map50=map50,
        map50_95=map50_95,
        precision=precision,
        recall=recall,
        per_class=per_class,
        confusion_matrix=confusion,
        confusion_labels=[*names, "background"],
        pr_curve=pr_curve,
        latency_ms=latency_ms,
        latency_p90_ms=latency_p90,
        seconds=time.monotonic() - started,
    )


def _per_class(metrics: Any, names: list[str]) -> tuple[dict[str, ClassMetrics], dict[str, list[float]]]:
    """Per-class numbers and PR curves; ultralytics only reports classes that have ground truth."""
    import numpy as np

    box = metrics.box
    counts = getattr(metrics, "nt_per_class", None)
    present = [int(i) for i in box.ap_class_index]
    grid = np.linspace(0.0, 1.0, PR_POINTS)
    pr_curve: dict[str, list[float]] = {"recall": [round(float(x), 4) for x in grid]}
    per_class: dict[str, ClassMetrics] = {}
    curves = np.asarray(box.prec_values) if len(getattr(box, "prec_values", [])) else None
    px = np.asarray(box.px) if len(getattr(box, "px", [])) else grid
    for index, name in enumerate(names):
        instances = int(counts[index]) if counts is not None and index < len(counts) else 0
        if index not in present or instances == 0:
            per_class[name] = ClassMetrics(None, None, None, None, instances)
            continue
        row = present.index(index)
        p, r, ap50, ap = (float(v) for v in box.class_result(row))
        per_class[name] = ClassMetrics(_finite(p), _finite(r), _finite(ap50), _finite(ap), instances)
        if curves is not None and curves.ndim == 2:
            # prec_values has one row per class present in ap_class_index order (or per class id)
            curve_row = curves[row] if curves.shape[0] == len(present) else curves[index]
            pr_curve[name] = [round(float(v), 4) for v in np.interp(grid, px, curve_row)]
    return per_class, pr_curve


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
