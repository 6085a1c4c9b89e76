"""Samples that arrived since the last model: what the weekly schedule needs before it retrains.

"Arrived" means ingested: each ingest batch listing (``ingest/batches/<batch_id>.json``, written by
``new_samples_sensor``) records when it was made and which sample records it holds. The weekly
tick reads every listing once (its cost grows with the number of ingest batches, about one per
thousand samples), which is cheap at a weekly cadence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from maskops_assets.ingest import BATCHES_PREFIX, read_batch
from maskops_assets.store import ObjectStore


@dataclass(frozen=True)
class ArrivedSamples:
    samples: int
    batches: int
    since: datetime | None

    def describe(self) -> str:
        since = (
            f"the last model ({self.since:%Y-%m-%dT%H:%M:%SZ})" if self.since else "the start (no model yet)"
        )
        return f"{self.samples} new sample(s) in {self.batches} ingest batch(es) since {since}"


def samples_since(store: ObjectStore, since: datetime | None) -> ArrivedSamples:
    """Sample records in ingest batches created after ``since`` (all of them when None)."""
    samples = batches = 0
    after: str | None = None
    while page := store.list_keys(BATCHES_PREFIX, start_after=after, limit=1000):
        after = page[-1]
        for key in page:
            if not key.endswith(".json"):
                continue
            batch = read_batch(store, key[len(BATCHES_PREFIX) : -len(".json")])
            created = datetime.fromisoformat(batch.created_at.replace("Z", "+00:00")).astimezone(UTC)
            if since is None or created > since:
                samples += len(batch.record_keys)
                batches += 1
        if len(page) < 1000:
            break
    return ArrivedSamples(samples=samples, batches=batches, since=since)
