"""Import reviewed annotation files as label batches in the object store, and read them back.

An import is all or nothing by default: every problem in the files is collected first, and if
there is any the whole batch is rejected with one message naming each file (the store is left
untouched, so nothing downstream changes). ``skip_invalid`` imports the valid images instead and
keeps the list of what was skipped.

A batch lives under ``labels/reviewed/<label_batch_id>/``: its images and ``batch.json`` (boxes in
pixels, class names, which ingest batch each image's sample came from). ``batch.json`` is written
last, so a batch is visible only once complete. Its id is a timestamp plus a hash of the content:
importing the same files twice yields the existing batch, not a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from maskops_assets.datasets.annotations import (
    AnnotationSet,
    BoxAnnotation,
    DatasetFormatError,
    ImageAnnotation,
)
from maskops_assets.datasets.validation import SkippedItem, ValidationLog
from maskops_assets.labels.formats import read_annotations
from maskops_assets.lineage import ReviewedLabels
from maskops_assets.store import ObjectStore
from maskops_contracts import CLASS_NAMES
from maskops_contracts.sample import content_sample_id

log = logging.getLogger(__name__)

LABELS_PREFIX = "labels/reviewed/"
_BATCH_FILE = "batch.json"
# How many problems a rejection message spells out; the exception keeps all of them.
_NAMED_PROBLEMS = 20


class LabelBatchRejected(ValueError):
    """An annotation batch had problems and was not imported; ``files`` names every bad file."""

    def __init__(self, source: Path | str, problems: list[SkippedItem]) -> None:
        self.source = str(source)
        self.problems = list(problems)
        self.files = sorted({str(p.path) for p in problems})
        listed = "; ".join(str(p) for p in problems[:_NAMED_PROBLEMS])
        more = f" (and {len(problems) - _NAMED_PROBLEMS} more)" if len(problems) > _NAMED_PROBLEMS else ""
        super().__init__(
            f"annotation batch {self.source} rejected, nothing was imported: {len(problems)} problem(s) in "
            f"{len(self.files)} file(s): {listed}{more}. Fix these files and import again, or import "
            "with skip_invalid: true to keep the valid images."
        )


@dataclass(frozen=True)
class LabelBatch:
    """One accepted import of reviewed labels, as stored in ``batch.json``."""

    label_batch_id: str
    source: str
    format: str
    imported_at: str
    images: tuple[dict[str, Any], ...]
    sample_batches: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    #: tasks a reviewer skipped in Label Studio: sample id, task id, who and when (no labels kept)
    review_skipped: tuple[dict[str, Any], ...] = ()

    @property
    def boxes_by_class(self) -> dict[str, int]:
        counts = Counter(box[4] for image in self.images for box in image["boxes"])
        return {name: counts.get(name, 0) for name in CLASS_NAMES}

    def to_json(self) -> str:
        return json.dumps(
            {
                "label_batch_id": self.label_batch_id,
                "source": self.source,
                "format": self.format,
                "imported_at": self.imported_at,
                "sample_batches": list(self.sample_batches),
                "skipped": list(self.skipped),
                "review_skipped": list(self.review_skipped),
                "images": list(self.images),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: bytes | str, *, source: str) -> LabelBatch:
        try:
            data = json.loads(text)
            return cls(
                label_batch_id=data["label_batch_id"],
                source=data["source"],
                format=data["format"],
                imported_at=data["imported_at"],
                images=tuple(data["images"]),
                sample_batches=tuple(data.get("sample_batches", [])),
                skipped=tuple(data.get("skipped", [])),
                review_skipped=tuple(data.get("review_skipped", [])),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{source} is not a readable label batch ({err})") from None


def _batch_key(label_batch_id: str) -> str:
    return f"{LABELS_PREFIX}{label_batch_id}/{_BATCH_FILE}"


def list_label_batches(store: ObjectStore) -> list[str]:
    """Ids of every complete label batch, oldest first."""
    ids: list[str] = []
    start_after: str | None = None
    while page := store.list_keys(LABELS_PREFIX, start_after=start_after, limit=1000):
        start_after = page[-1]
        suffix = "/" + _BATCH_FILE
        ids.extend(k[len(LABELS_PREFIX) : -len(suffix)] for k in page if k.endswith(suffix))
    return ids


def read_label_batch(store: ObjectStore, label_batch_id: str) -> LabelBatch:
    key = _batch_key(label_batch_id)
    return LabelBatch.from_json(store.get_bytes(key), source=f"{store.describe()}/{key}")


def import_label_batch(
    store: ObjectStore,
    import_dir: Path | str,
    fmt: str,
    *,
    skip_invalid: bool = False,
    sample_index: dict[str, str] | None = None,
    now: datetime | None = None,
) -> LabelBatch:
    """Validate the annotation files at ``import_dir`` (in format ``fmt``) and store them as a batch.

    ``sample_index`` maps sample ids to ingest batch ids; an image whose file stem or content hash is
    a known sample id is linked to its ingest batch (the lineage from a label back to a camera frame).
    Raises ``LabelBatchRejected`` (naming every bad file) and leaves the store untouched when the
    files have problems and ``skip_invalid`` is off, or when no labelled image is left.
    """
    source = Path(import_dir).resolve()
    validation = ValidationLog(skip_invalid=True)
    try:
        annotations = read_annotations(source, fmt, validation)
    except DatasetFormatError as err:
        # a file so broken that the reader could not go on (unreadable JSON, a missing data.yaml)
        raise LabelBatchRejected(source, [SkippedItem(err.path, err.problem, err.line)]) from None
    if validation.skipped and not skip_invalid:
        raise LabelBatchRejected(source, validation.skipped)
    if not annotations.images:
        nothing = SkippedItem(source, f"no annotated images found for format {fmt!r}")
        problems = validation.skipped or [nothing]
        raise LabelBatchRejected(source, problems)

    sample_index = sample_index or {}
    entries: list[LabelEntry] = []
    for image in annotations.images:
        data = image.image.read_bytes()
        content_id = content_sample_id(data)
        sample_id = image.image.stem if image.image.stem in sample_index else content_id
        entries.append(LabelEntry(image, data, sample_id))
    return store_label_batch(
        store,
        entries,
        source=str(source),
        fmt=fmt,
        sample_index=sample_index,
        skipped=tuple(str(item) for item in validation.skipped),
        now=now,
    )


@dataclass(frozen=True)
class LabelEntry:
    """One reviewed image to store: its annotation, its bytes, its sample id and extra record fields
    (who reviewed it and when, for labels pulled from Label Studio)."""

    image: ImageAnnotation
    data: bytes
    sample_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def _content_hash(entries: list[LabelEntry]) -> str:
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.sample_id):
        digest.update(entry.sample_id.encode())
        digest.update(repr([(b.x1, b.y1, b.x2, b.y2, b.class_name) for b in entry.image.boxes]).encode())
        # a pulled review's revision (annotation id and time): a reviewer who puts the boxes back as
        # they were makes a new batch, so it wins over the one in between. Files have none.
        digest.update(str(entry.extra.get("revision", "")).encode())
    return digest.hexdigest()[:12]


def _next_stamp(existing: list[str], now: datetime) -> datetime:
    """``now``, or one second after the newest batch when that is not older: batch ids sort in the
    order they were stored, which is what makes a later correction win (``latest_labels``)."""
    stamp = now.astimezone(UTC).replace(microsecond=0)
    if existing:
        newest = datetime.strptime(max(existing).split("-", 1)[0], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        if newest >= stamp:
            stamp = newest + timedelta(seconds=1)
    return stamp


def store_label_batch(
    store: ObjectStore,
    entries: list[LabelEntry],
    *,
    source: str,
    fmt: str,
    sample_index: dict[str, str] | None = None,
    skipped: tuple[str, ...] = (),
    review_skipped: tuple[dict[str, Any], ...] = (),
    now: datetime | None = None,
) -> LabelBatch:
    """Store ``entries`` as one label batch (images first, ``batch.json`` last); the same content
    stored before yields the existing batch instead of a duplicate."""
    sample_index = sample_index or {}
    content_hash = _content_hash(entries)
    existing_ids = list_label_batches(store)
    for existing in existing_ids:
        if existing.endswith(content_hash):
            log.info("annotation batch %s was imported before as %s", source, existing)
            return read_label_batch(store, existing)

    stamp = _next_stamp(existing_ids, now or datetime.now(UTC))
    label_batch_id = f"{stamp:%Y%m%dT%H%M%S}-{content_hash}"
    records = []
    for n, entry in enumerate(entries, start=1):
        image = entry.image
        name = f"{entry.sample_id}{image.image.suffix.lower() or '.jpg'}"
        store.put_bytes(f"{LABELS_PREFIX}{label_batch_id}/images/{name}", entry.data)
        records.append(
            {
                "name": name,
                "sample_id": entry.sample_id,
                "ingest_batch": sample_index.get(entry.sample_id),
                "original": str(image.image),
                "width": image.width,
                "height": image.height,
                "boxes": [[b.x1, b.y1, b.x2, b.y2, b.class_name] for b in image.boxes],
                **entry.extra,
            }
        )
        if n % 200 == 0:
            log.info("uploaded %d/%d reviewed images", n, len(entries))
    batch = LabelBatch(
        label_batch_id=label_batch_id,
        source=source,
        format=fmt,
        imported_at=stamp.isoformat().replace("+00:00", "Z"),
        images=tuple(records),
        sample_batches=tuple(sorted({r["ingest_batch"] for r in records if r["ingest_batch"]})),
        skipped=skipped,
        review_skipped=review_skipped,
    )
    store.put_bytes(_batch_key(label_batch_id), batch.to_json().encode(), content_type="application/json")
    return batch


def latest_labels(
    store: ObjectStore, label_batches: tuple[str, ...] | list[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """sample_id -> (label batch id, image record) of the newest label each sample has.

    A sample reviewed again in a later batch (a corrected box) counts once, with the later labels:
    training on both versions would teach the model the mistake beside its fix. Batch ids start
    with their import time, so sorted order is import order.
    """
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for label_batch_id in sorted(label_batches):
        for record in read_label_batch(store, label_batch_id).images:
            latest[record["sample_id"]] = (label_batch_id, record)
    return latest


def summarise(store: ObjectStore, new_batch: str | None) -> ReviewedLabels:
    """The cumulative view over every stored label batch (each sample once, with its newest labels)."""
    ids = list_label_batches(store)
    latest = latest_labels(store, ids)
    boxes = Counter(box[4] for _, record in latest.values() for box in record["boxes"])
    sample_batches = {record["ingest_batch"] for _, record in latest.values() if record.get("ingest_batch")}
    return ReviewedLabels(
        label_batches=tuple(ids),
        new_batch=new_batch,
        images=len(latest),
        boxes_by_class={name: boxes.get(name, 0) for name in CLASS_NAMES},
        sample_batches=tuple(sorted(sample_batches)),
    )


def download_reviewed(
    store: ObjectStore, label_batches: tuple[str, ...] | list[str], out_dir: Path
) -> AnnotationSet:
    """Every sample of ``label_batches``, with its newest labels, as local files under ``out_dir``
    (no split yet)."""
    out = AnnotationSet()
    for label_batch_id, record in latest_labels(store, label_batches).values():
        target = out_dir / label_batch_id / record["name"]
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.get_bytes(f"{LABELS_PREFIX}{label_batch_id}/images/{record['name']}"))
        out.images.append(
            ImageAnnotation(
                image=target,
                width=int(record["width"]),
                height=int(record["height"]),
                boxes=tuple(BoxAnnotation(*box) for box in record["boxes"]),
            )
        )
    return out
