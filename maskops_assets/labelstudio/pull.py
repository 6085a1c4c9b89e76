"""Completed reviews out of Label Studio, into a label batch like any file import.

Incremental: a cursor (the newest annotation ``updated_at`` already pulled) is kept in the object
store per server and project, and only tasks whose newest annotation is newer are read. Pulling
twice changes nothing. The cursor moves only after the batch is stored, so a failure (server
gone, token refused) loses nothing already pulled, and the next pull picks up where this one was.

Per task, the annotation that counts is the newest one not cancelled (the rule of
``maskops_assets.datasets.labelstudio``, whose converter turns it into pixel boxes). A task whose
only annotations are cancelled was skipped by the reviewer: it yields no label and is listed in
the batch's ``review_skipped`` (and in the pull state). A task reviewed again yields a newer batch,
and the newest labels of a sample are the ones that count (``latest_labels``).

Every image record carries who reviewed it and when, the task and annotation ids, the model
version of the prediction, and what the reviewer changed (``corrections``).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maskops_assets.datasets.labelstudio import parse_tasks
from maskops_assets.datasets.validation import ValidationLog
from maskops_assets.labels.reviewed import LabelBatch, LabelEntry, store_label_batch
from maskops_assets.labelstudio.client import LabelStudioClient
from maskops_assets.labelstudio.corrections import Counts, add_counts, compare, empty_counts, regions_of
from maskops_assets.store import ObjectNotFoundError, ObjectStore
from maskops_contracts.classes import CLASS_NAMES

log = logging.getLogger(__name__)

STATE_PREFIX = "labels/labelstudio/"
FORMAT = "labelstudio-api"


def state_key(url: str, project_id: int) -> str:
    """Where the pull cursor of one server's project lives in the object store."""
    host = "".join(c if c.isalnum() else "_" for c in url.split("://", 1)[-1]).strip("_")
    return f"{STATE_PREFIX}{host}/project-{project_id}/pull_state.json"


@dataclass
class PullState:
    cursor: str | None = None
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: ObjectStore, key: str) -> PullState:
        try:
            data = json.loads(store.get_bytes(key))
        except ObjectNotFoundError:
            return cls()
        return cls(cursor=data.get("cursor"), skipped=dict(data.get("skipped", {})))

    def write(self, store: ObjectStore, key: str) -> None:
        body = json.dumps({"cursor": self.cursor, "skipped": self.skipped}, indent=1, sort_keys=True)
        store.put_bytes(key, body.encode(), content_type="application/json")


@dataclass(frozen=True)
class PullReport:
    """What one pull found: the batch stored (None when nothing new), skips, problems, corrections."""

    batch: LabelBatch | None
    reviewed: int
    skipped: tuple[dict[str, Any], ...]
    invalid: tuple[str, ...]
    corrections: Counts
    cursor: str | None
    tasks_seen: int


def _when(annotation: dict[str, Any]) -> datetime:
    text = str(annotation.get("updated_at") or annotation.get("created_at") or "1970-01-01T00:00:00Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _annotator(annotation: dict[str, Any]) -> str:
    """Who submitted it: Label Studio's ``created_username`` ("<name> <email>, <user id>"), else the id."""
    name = str(annotation.get("created_username") or "").strip()
    if name:
        return name.rsplit(",", 1)[0].strip()
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"user {who}" if who is not None else "unknown"


def pull_reviewed(
    client: LabelStudioClient,
    project_id: int,
    store: ObjectStore,
    *,
    sample_index: dict[str, str] | None = None,
    now: datetime | None = None,
) -> PullReport:
    """Store the reviews completed since the last pull as one label batch; returns what was found."""
    key = state_key(client.url, project_id)
    state = PullState.read(store, key)
    cursor = datetime.fromisoformat(state.cursor.replace("Z", "+00:00")) if state.cursor else None
    newest = cursor
    changed: list[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]] = []
    seen = 0
    for task in client.iter_tasks(project_id):
        seen += 1
        if seen % 1000 == 0:
            log.info("Label Studio: listed %d tasks, %d with new reviews", seen, len(changed))
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        if not annotations or not (task.get("data") or {}).get("sample_id"):
            continue
        latest = max(annotations, key=_when)
        if cursor is not None and _when(latest) <= cursor:
            continue
        newest = max(newest, _when(latest)) if newest else _when(latest)
        kept = [a for a in annotations if not a.get("was_cancelled")]
        chosen = max(kept, key=_when) if kept else None
        changed.append((task, chosen, latest))

    entries: list[LabelEntry] = []
    skipped: list[dict[str, Any]] = []
    invalid: list[str] = []
    corrections = empty_counts()
    with tempfile.TemporaryDirectory(prefix="maskops-ls-pull-") as tmp:
        for n, (task, chosen, latest) in enumerate(changed, start=1):
            data = task["data"]
            sample_id = str(data["sample_id"])
            if chosen is None:
                skip = {
                    "sample_id": sample_id,
                    "task_id": task.get("id"),
                    "annotator": _annotator(latest),
                    "at": _iso(_when(latest)),
                }
                skipped.append(skip)
                state.skipped[sample_id] = skip
                continue
            state.skipped.pop(sample_id, None)
            entry = _entry(store, task, chosen, Path(tmp), invalid)
            if entry is not None:
                entries.append(entry)
                add_counts(corrections, entry.extra["corrections"])
            if n % 200 == 0:
                log.info("Label Studio: converted %d/%d reviewed tasks", n, len(changed))

        batch = None
        if entries:
            batch = store_label_batch(
                store,
                entries,
                source=f"{client.url}/projects/{project_id}",
                fmt=FORMAT,
                sample_index=sample_index,
                skipped=tuple(invalid),
                review_skipped=tuple(skipped),
                now=now,
            )
    if changed:
        state.cursor = _iso(newest) if newest else state.cursor
        state.write(store, key)
    return PullReport(
        batch=batch,
        reviewed=len(entries),
        skipped=tuple(skipped),
        invalid=tuple(invalid),
        corrections=corrections,
        cursor=state.cursor,
        tasks_seen=seen,
    )


def _entry(
    store: ObjectStore, task: dict[str, Any], chosen: dict[str, Any], tmp: Path, invalid: list[str]
) -> LabelEntry | None:
    """One reviewed task as a label entry (its frame from the store, boxes by the shared converter)."""
    data = task["data"]
    sample_id = str(data["sample_id"])
    image_key = str(data.get("image_key") or "")
    try:
        image_bytes = store.get_bytes(image_key)
    except (ObjectNotFoundError, ValueError) as err:
        invalid.append(
            f"task {task.get('id')} (sample {sample_id}): frame {image_key!r} not in the store ({err})"
        )
        return None
    local = tmp / f"{sample_id}.jpg"
    local.write_bytes(image_bytes)
    validation = ValidationLog(skip_invalid=True)
    converted = parse_tasks(
        [{"id": task.get("id"), "data": {"image": str(local)}, "annotations": [chosen]}],
        source=Path(f"task-{task.get('id')}"),
        image_root=tmp,
        class_names=CLASS_NAMES,
        validation=validation,
    )
    if validation.skipped or not converted.images:
        invalid.extend(str(item) for item in validation.skipped)
        return None
    predictions = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    prediction = predictions[-1] if predictions else {"result": [], "model_version": None}
    counts = compare(regions_of(prediction.get("result") or []), regions_of(chosen.get("result") or []))
    extra = {
        "annotator": _annotator(chosen),
        "annotated_at": _iso(_when(chosen)),
        "lead_time_s": chosen.get("lead_time"),
        "task_id": task.get("id"),
        "annotation_id": chosen.get("id"),
        "revision": f"{chosen.get('id')}@{_iso(_when(chosen))}",
        "model_version": prediction.get("model_version") or data.get("model_version"),
        "corrections": counts,
    }
    return LabelEntry(converted.images[0], image_bytes, sample_id, extra)
