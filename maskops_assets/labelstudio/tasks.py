"""Sample records in as Label Studio tasks, the model's boxes drawn as predictions.

A task's ``data`` carries the image reference and the sample's identity (``sample_id``, camera,
capture time, ingest batch, the sampling rule and score); its one prediction holds the model's
boxes with the sample's ``model_version``, each region with its confidence, and the lowest of them
as the prediction's score. A project shows tasks in the order they were created, so each push
creates its tasks by sampling score, highest (most informative) first.

Pushing is idempotent by ``sample_id``: the project's tasks are listed first and a sample that is
already a task is never imported again, whatever is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskops_assets.datasets.annotations import BoxAnnotation, ImageAnnotation
from maskops_assets.datasets.labelstudio import task_result
from maskops_assets.labelstudio.client import LabelStudioClient
from maskops_assets.labelstudio.images import ImageLinker
from maskops_assets.labelstudio.project import FROM_NAME, TO_NAME
from maskops_contracts import SampleRecord
from maskops_contracts.classes import CLASS_NAMES
from maskops_contracts.keys import sample_key

log = logging.getLogger(__name__)

#: Tasks per import request.
CHUNK = 200


@dataclass(frozen=True)
class ReviewSample:
    """A sample to review: its record and the ingest batch it came in."""

    record: SampleRecord
    ingest_batch: str

    @property
    def image_key(self) -> str:
        r = self.record
        return sample_key(r.camera_id, r.date, r.sample_id, "jpg")


@dataclass(frozen=True)
class PushReport:
    """What one push did: tasks created now, samples that were tasks already, the project's total."""

    created: int
    already: int
    project_tasks: int
    renewed_urls: int = 0


def prediction(record: SampleRecord) -> dict[str, Any]:
    """The model's boxes of ``record`` as a Label Studio prediction (pre-annotation)."""
    image = ImageAnnotation(
        Path(f"{record.sample_id}.jpg"),
        record.width,
        record.height,
        tuple(BoxAnnotation(*d.box, d.class_name) for d in record.detections),
    )
    result = task_result(
        image, CLASS_NAMES, region_prefix=f"m{record.sample_id[:10]}", from_name=FROM_NAME, to_name=TO_NAME
    )
    for region, detection in zip(result, record.detections, strict=True):
        region["score"] = round(detection.confidence, 4)
    entry: dict[str, Any] = {"model_version": record.model_version, "result": result}
    if record.detections:
        entry["score"] = round(min(d.confidence for d in record.detections), 4)
    return entry


def build_task(sample: ReviewSample, linker: ImageLinker) -> dict[str, Any]:
    r = sample.record
    return {
        "data": {
            "image": linker.reference(sample.image_key),
            "sample_id": r.sample_id,
            "image_key": sample.image_key,
            "camera_id": r.camera_id,
            "captured_at": r.captured_at.isoformat().replace("+00:00", "Z"),
            "ingest_batch": sample.ingest_batch,
            "model_version": r.model_version,
            "sampling_rule": r.reason.rule,
            "sampling_score": r.reason.score,
        },
        "predictions": [prediction(r)],
    }


def review_order(samples: Iterable[ReviewSample]) -> list[ReviewSample]:
    """Highest sampling score first; ties by capture time, then sample id (a stable order)."""
    return sorted(samples, key=lambda s: (-s.record.reason.score, s.record.captured_at, s.record.sample_id))


def push_samples(
    client: LabelStudioClient, project_id: int, samples: Iterable[ReviewSample], linker: ImageLinker
) -> PushReport:
    """Create a task for every sample not yet in the project, most informative first."""
    existing: dict[str, dict[str, Any]] = {}
    for task in client.iter_tasks(project_id):
        sample_id = (task.get("data") or {}).get("sample_id")
        if sample_id:
            existing.setdefault(str(sample_id), task)
    fresh: dict[str, ReviewSample] = {}
    already = 0
    for sample in samples:
        sid = sample.record.sample_id
        if sid in existing:
            already += 1
        else:
            fresh.setdefault(sid, sample)
    ordered = review_order(fresh.values())
    created = 0
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        created += client.import_tasks(project_id, [build_task(s, linker) for s in chunk])
        log.info("Label Studio: imported %d/%d new tasks into project %s", created, len(ordered), project_id)
    renewed = 0 if linker.is_local else _renew_image_urls(client, existing.values(), linker)
    return PushReport(created, already, len(existing) + created, renewed)


def _renew_image_urls(client: LabelStudioClient, tasks: Iterable[dict[str, Any]], linker: ImageLinker) -> int:
    """Fresh presigned URLs for tasks nobody has reviewed yet (a URL only lives ``presign_expires_s``)."""
    renewed = 0
    for task in tasks:
        data = dict(task.get("data") or {})
        if task.get("annotations") or task.get("total_annotations") or not data.get("image_key"):
            continue
        data["image"] = linker.reference(str(data["image_key"]))
        client.request("PATCH", f"/api/tasks/{task['id']}", json={"data": data})
        renewed += 1
    if renewed:
        log.info("Label Studio: renewed the image URL of %d unreviewed task(s)", renewed)
    return renewed
