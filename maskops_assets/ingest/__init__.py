"""Turning the sample records cameras upload into ingest batches (plain code, no Dagster)."""

from maskops_assets.ingest.batches import (
    BATCHES_PREFIX,
    CollectedBatch,
    IngestBatch,
    batch_listing_key,
    collect_batch,
    make_batch,
    read_batch,
    record_batched,
    sample_batch_index,
    write_batch,
)
from maskops_assets.ingest.cursor import IngestCursor
from maskops_assets.ingest.discovery import NewSamples, find_new_samples

__all__ = [
    "BATCHES_PREFIX",
    "CollectedBatch",
    "IngestBatch",
    "IngestCursor",
    "NewSamples",
    "batch_listing_key",
    "collect_batch",
    "find_new_samples",
    "make_batch",
    "read_batch",
    "record_batched",
    "sample_batch_index",
    "write_batch",
]
