"""Group new sample records into batches, remember them as batched, and read a batch back.

The store keeps a ledger per ``<camera>/<day>`` folder of the records already batched
(``ingest/seen/<camera>/<date>.json``); ``maskops_assets.ingest.discovery`` finds what is new. A
batch id is derived from its keys, so repeating a tick that crashed after writing the listing
yields the same batch again rather than a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from maskops_assets.store import ObjectNotFoundError, ObjectStore
from maskops_contracts import ContractError, SampleRecord, parse_sample_key

log = logging.getLogger(__name__)

BATCHES_PREFIX = "ingest/batches/"
LEDGER_PREFIX = "ingest/seen/"
# Problems worth naming one by one in a log; the rest are counted.
_LOGGED_PROBLEMS = 5


def batch_listing_key(batch_id: str) -> str:
    return f"{BATCHES_PREFIX}{batch_id}.json"


def _ledger_key(folder: str) -> str:
    return f"{LEDGER_PREFIX}{folder}.json"


@dataclass(frozen=True)
class IngestBatch:
    """A set of sample record keys ingested together; ``batch_id`` is also the Dagster partition key."""

    batch_id: str
    record_keys: tuple[str, ...]
    created_at: str

    def to_json(self) -> str:
        return json.dumps(
            {"batch_id": self.batch_id, "created_at": self.created_at, "record_keys": list(self.record_keys)},
            indent=2,
        )


def read_ledger(store: ObjectStore, folder: str) -> set[str]:
    try:
        return set(json.loads(store.get_bytes(_ledger_key(folder)))["sample_ids"])
    except ObjectNotFoundError:
        return set()
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"ingest ledger {_ledger_key(folder)} in {store.describe()} is unreadable ({err}); "
            "delete it to re-ingest that folder"
        ) from None


def make_batch(record_keys: list[str], *, now: datetime | None = None) -> IngestBatch:
    """A batch of ``record_keys`` with an id made of the first capture day and a hash of the keys."""
    if not record_keys:
        raise ValueError("an ingest batch needs at least one record key")
    keys = tuple(sorted(record_keys))
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]
    first_day = min(parse_sample_key(k)[1] for k in keys)
    created = (now or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return IngestBatch(batch_id=f"{first_day}-{digest}", record_keys=keys, created_at=created)


def write_batch(store: ObjectStore, batch: IngestBatch) -> str:
    key = batch_listing_key(batch.batch_id)
    store.put_bytes(key, batch.to_json().encode(), content_type="application/json")
    return key


def record_batched(store: ObjectStore, batch: IngestBatch) -> None:
    """Add the batch's records to the per-folder ledgers (after the listing is safely written)."""
    by_folder: dict[str, set[str]] = {}
    for key in batch.record_keys:
        camera_id, day, sample_id, _ = parse_sample_key(key)
        by_folder.setdefault(f"{camera_id}/{day}", set()).add(sample_id)
    for folder, sample_ids in by_folder.items():
        merged = sorted(read_ledger(store, folder) | sample_ids)
        store.put_bytes(_ledger_key(folder), json.dumps({"sample_ids": merged}).encode(), "application/json")


def read_batch(store: ObjectStore, batch_id: str) -> IngestBatch:
    key = batch_listing_key(batch_id)
    try:
        data = json.loads(store.get_bytes(key))
        return IngestBatch(
            batch_id=data["batch_id"], record_keys=tuple(data["record_keys"]), created_at=data["created_at"]
        )
    except ObjectNotFoundError:
        raise ObjectNotFoundError(
            store.describe(), f"{key} (the listing of ingest batch {batch_id!r}; the sensor writes it)"
        ) from None
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"batch listing {key} in {store.describe()} is unreadable: {err}") from None


def sample_batch_index(store: ObjectStore) -> dict[str, str]:
    """``sample_id -> batch_id`` over every batch listing in the store (first batch wins)."""
    index: dict[str, str] = {}
    for key in _all_keys(store, BATCHES_PREFIX):
        if not key.endswith(".json"):
            continue
        batch = read_batch(store, key[len(BATCHES_PREFIX) : -len(".json")])
        for record_key in batch.record_keys:
            index.setdefault(parse_sample_key(record_key)[2], batch.batch_id)
    return index


def _all_keys(store: ObjectStore, prefix: str, page_size: int = 1000) -> list[str]:
    keys: list[str] = []
    while page := store.list_keys(prefix, start_after=keys[-1] if keys else None, limit=page_size):
        keys.extend(page)
    return keys


@dataclass(frozen=True)
class CollectedBatch:
    """The validated sample records of one ingest batch (the value of ``collected_frames``)."""

    batch_id: str
    listing_key: str
    records: tuple[SampleRecord, ...]
    image_keys: tuple[str, ...]
    invalid: tuple[str, ...] = ()
    by_camera: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def sample_ids(self) -> list[str]:
        return [r.sample_id for r in self.records]


def collect_batch(store: ObjectStore, batch_id: str) -> CollectedBatch:
    """Read and validate every record of a batch; a bad record is counted and named, not fatal."""
    batch = read_batch(store, batch_id)
    records: list[SampleRecord] = []
    image_keys: list[str] = []
    invalid: list[str] = []
    for key in batch.record_keys:
        try:
            record = SampleRecord.from_json(store.get_bytes(key), source=key)
        except (ContractError, ObjectNotFoundError) as err:
            invalid.append(f"{key}: {err}")
            if len(invalid) <= _LOGGED_PROBLEMS:
                log.warning("batch %s: skipping invalid sample record: %s", batch_id, err)
            continue
        records.append(record)
        image_keys.append(key[: -len(".json")] + ".jpg")
    if len(invalid) > _LOGGED_PROBLEMS:
        log.warning(
            "batch %s: %d invalid records in all (first %d logged)", batch_id, len(invalid), _LOGGED_PROBLEMS
        )
    return CollectedBatch(
        batch_id=batch_id,
        listing_key=batch_listing_key(batch_id),
        records=tuple(records),
        image_keys=tuple(image_keys),
        invalid=tuple(invalid),
        by_camera=dict(Counter(r.camera_id for r in records)),
        by_reason=dict(Counter(r.reason.rule for r in records)),
    )
