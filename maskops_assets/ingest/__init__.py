"""Turning the sample records cameras upload into ingest batches (plain code, no Dagster)."""

from maskops_assets.ingest.batches import (
    BATCHES_PREFIX,
    CollectedBatch,
    IngestBatch,
    NewSamples,
    batch_listing_key,
    collect_batch,
    find_new_samples,
    make_batch,
    read_batch,
    record_batched,
    sample_batch_index,
    write_batch,
)

__all__ = [
    "BATCHES_PREFIX",
    "CollectedBatch",
    "IngestBatch",
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
