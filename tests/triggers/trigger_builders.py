"""Builders for the retraining-trigger tests: label batches, a champion, drift summaries, runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import dagster as dg
import numpy as np

from maskops_assets.constants import RETRAIN_JOB
from maskops_assets.datasets.annotations import AnnotationSet, BoxAnnotation, ImageAnnotation
from maskops_assets.datasets.yolo import write_yolo
from maskops_assets.labels import import_label_batch
from maskops_assets.monitoring.drift_summary import DriftSummary, FeatureDrift, write_summary
from maskops_assets.release.ledger import ReleaseLedger, new_release_id
from maskops_assets.store import ObjectStore
from maskops_contracts import ModelRef, ReleaseManifest, model_key


class LabelFactory:
    """Writes real label batches: tiny distinct images, one box each, imported from a YOLO export."""

    def __init__(self, store: ObjectStore, work: Path) -> None:
        self.store = store
        self.work = work
        self.made = 0
        self.clock = datetime(2026, 11, 1, tzinfo=UTC)

    def batch(self, images: int) -> str:
        self.made += 1
        folder = self.work / f"export-{self.made}"
        raw = self.work / f"raw-{self.made}"
        raw.mkdir(parents=True)
        rng = np.random.default_rng(self.made)
        annotations = AnnotationSet()
        for i in range(images):
            path = raw / f"img{i}.png"
            cv2.imwrite(str(path), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
            box = BoxAnnotation(4, 4, 20, 24, "with_mask")
            annotations.images.append(
                ImageAnnotation(image=path, width=32, height=32, boxes=(box,), split="train")
            )
        write_yolo(annotations, folder)
        self.clock += timedelta(minutes=1)
        return import_label_batch(self.store, folder, "yolo", now=self.clock).label_batch_id


def make_champion(
    store: ObjectStore,
    instance: dg.DagsterInstance,
    model_version: str,
    dataset_version: str,
    label_batches: list[str],
) -> None:
    """A live release whose champion was trained on ``dataset_version`` holding ``label_batches``:
    the manifest, the model's metadata.json, and labeled_dataset's materialization of that version."""
    store.put_bytes(
        model_key(model_version, "metadata.json"),
        json.dumps(
            {"model_version": model_version, "lineage": {"dataset_version": dataset_version}}
        ).encode(),
    )
    champion = ModelRef(model_version=model_version, uri=model_key(model_version), sha256="0" * 64)
    ReleaseLedger(store).publish(ReleaseManifest(release_id=new_release_id(), champion=champion))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "labeled_dataset",
            metadata={"dvc_version": dataset_version, "label_batches": dg.MetadataValue.json(label_batches)},
        )
    )


def drift_summary(
    report_id: str = "drift-1",
    drift_share: float = 0.0,
    features: tuple[FeatureDrift, ...] = (),
    drifted_cameras: tuple[str, ...] = (),
) -> DriftSummary:
    return DriftSummary(
        report_id=report_id,
        created_at="2026-11-30T08:00:00Z",
        window_start="2026-11-29T08:00:00Z",
        window_end="2026-11-30T08:00:00Z",
        rows=500,
        reference="dataset dataset-v1, 96 training images",
        reference_rows=96,
        drift_share=drift_share,
        threshold=0.3,
        features=features,
        drifted_cameras=drifted_cameras,
    )


def put_drift(store: ObjectStore, **kwargs) -> DriftSummary:
    summary = drift_summary(**kwargs)
    write_summary(store, summary)
    return summary


def retrain_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """A run of the retraining job in ``status`` (a finished one gets its end event, hence end_time)."""
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteRepositoryOrigin
    from dagster._core.test_utils import create_run_for_test

    # a queued run must name where its job lives, as a run the daemon queued does
    origin = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("maskops"), "__repository__")
    if status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED):
        return create_run_for_test(
            instance,
            job_name=RETRAIN_JOB,
            status=status,
            remote_job_origin=origin.get_job_origin(RETRAIN_JOB),
        )
    run = create_run_for_test(instance, job_name=RETRAIN_JOB, status=dg.DagsterRunStatus.STARTED)
    instance.report_run_failed(run)
    return instance.get_run_by_id(run.run_id)
