"""What the Dagster instance remembers that the triggers need: built datasets and trained models.

``labeled_dataset`` records its DVC version (``dvc_version``) and the label batches it merged
(``label_batches``) in each materialization's metadata; ``trained_model`` is materialized once per
trained model. Both are read from the instance's event log (persistent storage, the same after a
daemon restart), newest first, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

DATASET_ASSET = dg.AssetKey("labeled_dataset")
MODEL_ASSET = dg.AssetKey("trained_model")
_PAGE = 100


@dataclass(frozen=True)
class BuiltDataset:
    """One materialization of ``labeled_dataset``."""

    version: str
    label_batches: tuple[str, ...]
    timestamp: float


class DatasetHistory:
    """The datasets ``labeled_dataset`` built, as the instance recorded them."""

    def __init__(self, instance: dg.DagsterInstance, max_scanned: int = 1000) -> None:
        self.instance = instance
        self.max_scanned = max_scanned

    def _newest_first(self):
        cursor = None
        scanned = 0
        while scanned < self.max_scanned:
            page = self.instance.fetch_materializations(DATASET_ASSET, limit=_PAGE, cursor=cursor)
            for record in page.records:
                built = _built_dataset(record)
                if built is not None:
                    yield built
            scanned += len(page.records)
            if not page.has_more:
                return
            cursor = page.cursor

    def latest(self) -> BuiltDataset | None:
        return next(self._newest_first(), None)

    def find(self, version: str) -> BuiltDataset | None:
        """The newest build recorded as ``version``, or None when this instance never built it."""
        return next((built for built in self._newest_first() if built.version == version), None)


def _built_dataset(record) -> BuiltDataset | None:
    materialization = record.asset_materialization
    if materialization is None:
        return None
    metadata = materialization.metadata
    version = metadata.get("dvc_version")
    batches = metadata.get("label_batches")
    if version is None or batches is None:
        return None
    return BuiltDataset(
        version=str(version.value),
        label_batches=tuple(str(b) for b in (batches.value or [])),
        timestamp=record.timestamp,
    )


def last_model_time(instance: dg.DagsterInstance) -> float | None:
    """When the newest ``trained_model`` was materialized (a Unix time), or None before the first."""
    page = instance.fetch_materializations(MODEL_ASSET, limit=1)
    return page.records[0].timestamp if page.records else None
