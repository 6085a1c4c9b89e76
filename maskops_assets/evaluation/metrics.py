"""Measure a released model the way a camera runs it: the numbers the gate and the reviewer read.

``evaluate_on_edge`` runs the exported ONNX model through the edge agent's own pipeline
(``edge_agent.detector``: letterbox to the camera's input shape, OpenVINO or ONNX Runtime at an
explicit precision, decode, class-aware NMS at the edge's IoU) on every image of one split of a
YOLO dataset, and scores what it found:

- mAP50 and mAP50-95 (and per-class AP) with COCO's evaluation (pycocotools), from all boxes down
  to confidence 0.001, as mAP is defined;
- the confusion matrix and per-class precision/recall at the camera's operating confidence
  threshold, which is what a camera reports and keeps.

An earlier version scored ``.pt`` weights with ultralytics' validator, which pads every batch by
half a stride (160x160 test frames ran as 192x192 inputs) and runs torch in fp32: a figure about
a model no camera runs. The result is a plain, JSON-serialisable ``EvaluationResult``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maskops_assets.evaluation.coco_scores import RECALL_GRID, coco_scores
from maskops_assets.evaluation.latency import measure_onnx_latency
from maskops_assets.evaluation.operating_point import LabeledBox, confusion_matrix, precision_recall

log = logging.getLogger(__name__)

PR_POINTS = len(RECALL_GRID)  # recall grid of the stored PR curve; 0.00, 0.01, ..., 1.00
#: mAP counts every box down to this confidence (COCO practice; ultralytics' validator uses it too).
MAP_CONF_THRESHOLD = 0.001
#: COCO scores at most this many boxes per image.
MAP_MAX_DETECTIONS = 100
#: Confusion-matrix matching IoU (the same as the AP50 that the gate judges).
MATCH_IOU = 0.5


class EvaluationError(RuntimeError):
    """A model could not be evaluated; the message names the model, the data and what to do."""


@dataclass(frozen=True)
class ClassMetrics:
    """One class on one split: precision/recall at the operating threshold, AP from COCOeval.

    None where the split has no ground truth of that class (precision: where nothing of the
    class was kept either).
    """

    precision: float | None
    recall: float | None
    ap50: float | None
    ap50_95: float | None
    instances: int


@dataclass(frozen=True)
class EvaluationResult:
    """A model's numbers on one split; ``confusion_matrix[pred][true]`` with background last.

    ``runtime`` and ``inference_precision`` say how the edge pipeline ran the model,
    ``conf_threshold`` is the operating threshold of the confusion matrix and of
    ``precision``/``recall`` (means over the classes with ground truth).
    """

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
    runtime: str = ""
    inference_precision: str = ""
    conf_threshold: float = 0.25
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


@dataclass(frozen=True)
class EdgeSettings:
    """How the edge pipeline runs the model under evaluation.

    ``conf_threshold`` and ``iou_threshold`` default to the edge detector's own defaults, so the
    gate measures a camera that nobody configured differently.
    """

    runtime: str = "auto"
    precision: str = "fp32"
    conf_threshold: float | None = None
    iou_threshold: float | None = None
    threads: int = 1

    def resolved(self) -> EdgeSettings:
        from edge_agent.detector import DetectorConfig, resolve_runtime

        defaults = DetectorConfig(threads=1)
        return EdgeSettings(
            runtime=resolve_runtime(self.runtime),  # type: ignore[arg-type]
            precision=self.precision,
            conf_threshold=defaults.conf_threshold if self.conf_threshold is None else self.conf_threshold,
            iou_threshold=defaults.iou_threshold if self.iou_threshold is None else self.iou_threshold,
            threads=self.threads,
        )


def split_images(data_yaml: Path, split: str) -> tuple[list[Any], tuple[str, ...]]:
    """The images (with their boxes) of ``split`` of a YOLO dataset, and its class names."""
    from maskops_assets.datasets.annotations import DatasetFormatError
    from maskops_assets.datasets.yolo import read_yolo

    try:
        dataset = read_yolo(data_yaml)
    except DatasetFormatError as err:
        raise EvaluationError(f"cannot read the dataset {data_yaml}: {err}") from err
    images = [image for image in dataset.images if image.split == split]
    if not images:
        raise EvaluationError(
            f"split '{split}' of {data_yaml} has no images; check that the data.yaml has a "
            f"'{split}' entry pointing at existing images"
        )
    return images, tuple(dataset.class_names)


def evaluate_on_edge(
    onnx_path: Path | str,
    data_yaml: Path | str,
    split: str = "test",
    *,
    imgsz: int,
    settings: EdgeSettings | None = None,
    latency_runs: int = 30,
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Run ``onnx_path`` through the edge pipeline on ``split`` of ``data_yaml`` and score it.

    ``latency_runs`` > 0 also times single-image forward passes at ``imgsz`` (0 skips it).
    ``progress`` receives one line when the pass over the split is done.
    """
    import cv2

    from edge_agent.detector import DetectorConfig, ModelLoadError, load_detector

    onnx_path, data_yaml = Path(onnx_path), Path(data_yaml)
    for path, what in ((onnx_path, "model"), (data_yaml, "dataset data.yaml")):
        if not path.is_file():
            raise EvaluationError(f"{what} {path} does not exist")
    settings = (settings or EdgeSettings()).resolved()
    images, class_names = split_images(data_yaml, split)
    index = {name: k for k, name in enumerate(class_names)}
    started = time.monotonic()
    cfg = DetectorConfig(
        runtime=settings.runtime,  # type: ignore[arg-type]
        precision=settings.precision,  # type: ignore[arg-type]
        threads=settings.threads,
        streams=1,
        conf_threshold=MAP_CONF_THRESHOLD,
        iou_threshold=settings.iou_threshold,
        max_detections=MAP_MAX_DETECTIONS,
    )
    try:
        detector = load_detector(onnx_path, model_version="under-evaluation", cfg=cfg, imgsz=imgsz)
    except ModelLoadError as err:
        raise EvaluationError(f"the edge pipeline cannot run {onnx_path}: {err}") from err
    if tuple(detector.class_names) != class_names:
        raise EvaluationError(
            f"{onnx_path} predicts classes {list(detector.class_names)} but {data_yaml} labels "
            f"{list(class_names)}; evaluate a model on data with the same classes in the same order"
        )

    pairs: list[tuple[list[LabeledBox], list[LabeledBox]]] = []
    for image in images:
        frame = cv2.imread(str(image.image), cv2.IMREAD_COLOR)
        if frame is None:
            raise EvaluationError(f"cannot read image {image.image} of split '{split}' in {data_yaml}")
        truths = [LabeledBox((b.x1, b.y1, b.x2, b.y2), index[b.class_name]) for b in image.boxes]
        found = [
            LabeledBox(d.box, index[d.class_name], d.confidence) for d in detector.detect(frame).detections
        ]
        pairs.append((truths, found))

    scores = coco_scores(pairs, len(class_names))
    matrix = confusion_matrix(
        pairs, len(class_names), conf_threshold=settings.conf_threshold, iou_threshold=MATCH_IOU
    )
    per_class: dict[str, ClassMetrics] = {}
    pr_curve: dict[str, list[float]] = {"recall": list(RECALL_GRID)}
    for k, (name, (precision, recall, instances)) in enumerate(
        zip(class_names, precision_recall(matrix), strict=True)
    ):
        if instances == 0:
            per_class[name] = ClassMetrics(precision, None, None, None, 0)
            continue
        per_class[name] = ClassMetrics(
            _finite(precision or 0.0), _finite(recall or 0.0), scores.ap50[k], scores.ap50_95[k], instances
        )
        if k in scores.pr_curves:
            pr_curve[name] = list(scores.pr_curves[k])
    judged = [m for m in per_class.values() if m.recall is not None]
    latency_ms = latency_p90 = None
    if latency_runs > 0:
        stats = measure_onnx_latency(onnx_path, imgsz=imgsz, runs=latency_runs)
        latency_ms, latency_p90 = stats.median_ms, stats.p90_ms
    seconds = time.monotonic() - started
    line = (
        f"{onnx_path.name} on '{split}' ({len(images)} images) via the edge pipeline "
        f"[{detector.runtime} {detector.precision}]: mAP50 {scores.map50:.4f} "
        f"mAP50-95 {scores.map50_95:.4f} in {seconds:.1f} s"
    )
    (progress or log.info)(line)
    return EvaluationResult(
        model=str(onnx_path),
        data_yaml=str(data_yaml),
        split=split,
        images=len(images),
        instances=sum(m.instances for m in per_class.values()),
        map50=scores.map50,
        map50_95=scores.map50_95,
        precision=sum(m.precision or 0.0 for m in judged) / len(judged) if judged else 0.0,
        recall=sum(m.recall or 0.0 for m in judged) / len(judged) if judged else 0.0,
        per_class=per_class,
        confusion_matrix=[[float(v) for v in row] for row in matrix],
        confusion_labels=[*class_names, "background"],
        pr_curve=pr_curve,
        runtime=detector.runtime,
        inference_precision=detector.precision,
        conf_threshold=settings.conf_threshold,
        latency_ms=latency_ms,
        latency_p90_ms=latency_p90,
        seconds=seconds,
    )


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
