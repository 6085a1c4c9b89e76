"""Which reviewed label batches are in the store, read cheaply enough for a sensor tick.

``labels/reviewed/<label_batch_id>/batch.json`` sorts before the batch's ``images/…`` keys, so one
listing page shows the ``batch.json`` of every small batch on it, and when a page ends inside a
batch's images the next listing jumps past that batch (``<id>0`` sorts after every ``<id>/…`` key).
The number of list requests grows with the number of batches, not with the reviewed images.
A batch is complete only once its ``batch.json`` exists (it is written last), so a batch still
being uploaded is not seen.

Batches never change once written (the id is a hash of the content), so their image and box counts
can be cached between ticks by id (``BatchCounts``) and only a new batch's ``batch.json`` is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from maskops_assets.labels.reviewed import LABELS_PREFIX, read_label_batch
from maskops_assets.store import ObjectStore

_BATCH_FILE = "batch.json"


@dataclass(frozen=True)
class BatchCounts:
    """Reviewed images and boxes in one label batch."""

    images: int
    boxes: int


def list_batch_ids(store: ObjectStore, page_size: int = 1000) -> list[str]:
    """Ids of every complete label batch, oldest first (ids start with their import time)."""
    ids: list[str] = []
    after: str | None = None
    while page := store.list_keys(LABELS_PREFIX, start_after=after, limit=page_size):
        for key in page:
            batch_id, _, rest = key[len(LABELS_PREFIX) :].partition("/")
            if rest == _BATCH_FILE:
                ids.append(batch_id)
        last_batch = page[-1][len(LABELS_PREFIX) :].partition("/")[0]
        # '0' follows '/', so this skips the rest of last_batch's images in one request
        after = f"{LABELS_PREFIX}{last_batch}0"
        if len(page) < page_size:
            break
    return ids


def count_batches(
    store: ObjectStore, batch_ids: Iterable[str], cache: Mapping[str, BatchCounts] | None = None
) -> dict[str, BatchCounts]:
    """``batch id -> counts`` for ``batch_ids``, reading only the batches ``cache`` lacks."""
    cache = cache or {}
    counts: dict[str, BatchCounts] = {}
    for batch_id in batch_ids:
        if batch_id in cache:
            counts[batch_id] = cache[batch_id]
            continue
        batch = read_label_batch(store, batch_id)
        counts[batch_id] = BatchCounts(
            images=len(batch.images), boxes=sum(len(image["boxes"]) for image in batch.images)
        )
    return counts
