"""The values assets hand each other, with the ids that let one follow a model back to its samples.

Lineage runs sample batches -> dataset version -> MLflow run -> model version -> release. Each
dataclass here is one asset's output; they are frozen so a downstream step cannot rewrite history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from maskops_contracts import CLASS_NAMES


@dataclass(frozen=True)
class LabeledDatasetVersion:
    """One committed version of the labeled dataset (the output of ``labeled_dataset``).

    ``version`` is the DVC/git tag, ``data_yaml`` the absolute path of an ultralytics data.yaml in a
    checked-out copy of exactly that version, ``counts`` boxes per class per split
    (``{"train": {"with_mask": 12, ...}, ...}``), ``new_labels`` the reviewed images added since the
    previous version, ``sample_batches`` the ingest batch ids whose samples this version has seen.
    """

    version: str
    git_rev: str
    dvc_md5: str
    data_yaml: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    new_labels: int = 0
    sample_batches: list[str] = field(default_factory=list)

    @property
    def total_boxes(self) -> int:
        return sum(sum(per_class.values()) for per_class in self.counts.values())


@dataclass(frozen=True)
class ReviewedLabels:
    """Every accepted batch of reviewed labels so far (the output of ``reviewed_labels``).

    ``label_batches`` are ids under ``labels/reviewed/`` in the object store, oldest first;
    ``new_batch`` is the one this materialization imported (None when nothing new was given);
    ``sample_batches`` the ingest batches whose samples have been labelled.
    """

    label_batches: tuple[str, ...]
    new_batch: str | None
    images: int
    boxes_by_class: dict[str, int] = field(default_factory=dict)
    sample_batches: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainedModel:
    """One trained and registered model (the output of ``trained_model``).

    ``model_version`` is the id cameras and the object store use (``models/<model_version>/``),
    ``registered_version`` the MLflow registry version of ``mlflow_run_id``; ``weights`` and
    ``onnx`` are local paths of the exported files, ``onnx_sha256`` and ``class_names`` what the
    release manifest pins, ``dataset_version`` the DVC tag it was trained on, ``metrics`` its val metrics.
    """

    model_version: str
    mlflow_run_id: str
    registered_version: str
    weights: str
    onnx: str
    onnx_sha256: str
    dataset_version: str
    metrics: dict[str, float] = field(default_factory=dict)
    imgsz: int = 160
    class_names: tuple[str, ...] = CLASS_NAMES
    data_yaml: str = ""
    sample_batches: tuple[str, ...] = ()
