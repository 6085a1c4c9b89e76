"""Which ingest batches still have to go to Label Studio, and pushing them.

A small ledger in the object store (per server and project) lists the ingest batches whose samples
are all tasks; a run reads only the other batches' records. The push itself is idempotent by
sample id, so a run that failed half way is simply repeated.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from maskops_assets.ingest.batches import BATCHES_PREFIX, collect_batch
from maskops_assets.labelstudio.client import LabelStudioClient
from maskops_assets.labelstudio.images import ImageLinker
from maskops_assets.labelstudio.project import ProjectRef, ensure_project
from maskops_assets.labelstudio.pull import STATE_PREFIX
from maskops_assets.labelstudio.tasks import PushReport, ReviewSample, push_samples
from maskops_assets.store import ObjectNotFoundError, ObjectStore

log = logging.getLogger(__name__)


def pushed_key(url: str, project_id: int) -> str:
    host = "".join(c if c.isalnum() else "_" for c in url.split("://", 1)[-1]).strip("_")
    return f"{STATE_PREFIX}{host}/project-{project_id}/pushed_batches.json"


def ingest_batch_ids(store: ObjectStore) -> list[str]:
    ids: list[str] = []
    start_after: str | None = None
    while page := store.list_keys(BATCHES_PREFIX, start_after=start_after, limit=1000):
        start_after = page[-1]
        ids.extend(k[len(BATCHES_PREFIX) : -len(".json")] for k in page if k.endswith(".json"))
    return ids


def _read_pushed(store: ObjectStore, key: str) -> set[str]:
    try:
        return set(json.loads(store.get_bytes(key))["batches"])
    except ObjectNotFoundError:
        return set()


@dataclass(frozen=True)
class QueueReport:
    project: ProjectRef
    batches: tuple[str, ...]
    push: PushReport
    invalid_records: int


def queue_new_batches(
    client: LabelStudioClient, store: ObjectStore, title: str, linker: ImageLinker
) -> QueueReport:
    """Create/refresh the project and turn the samples of every ingest batch not yet pushed into tasks."""
    project = ensure_project(client, title, local_files_path=linker.local_storage_path())
    key = pushed_key(client.url, project.project_id)
    pushed = _read_pushed(store, key)
    todo = [b for b in ingest_batch_ids(store) if b not in pushed]
    samples: list[ReviewSample] = []
    invalid = 0
    for n, batch_id in enumerate(todo, start=1):
        batch = collect_batch(store, batch_id)
        invalid += len(batch.invalid)
        samples.extend(ReviewSample(record, batch_id) for record in batch.records)
        if n % 20 == 0:
            log.info("read %d/%d ingest batches to queue for review", n, len(todo))
    report = push_samples(client, project.project_id, samples, linker)
    if todo:
        body = json.dumps({"batches": sorted(pushed | set(todo))}, indent=1)
        store.put_bytes(key, body.encode(), content_type="application/json")
    return QueueReport(project, tuple(todo), report, invalid)
