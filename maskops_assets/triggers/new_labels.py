"""Reviewed labels new since the dataset the current champion was trained on.

The baseline is found from persistent state only, so a daemon restart changes nothing:

1. the live manifest (``releases/manifest.json``) names the champion's ``model_version``;
2. its ``models/<model_version>/metadata.json`` names the ``dataset_version`` it was trained on
   (and its ``label_batches`` when the lineage records them);
3. otherwise the instance's ``labeled_dataset`` materialization of that version lists them.

Before the first release the baseline is the newest dataset built (labels already in a candidate
waiting for its gate or approval are not new); before any dataset, every reviewed label is new.
What is counted is reviewed **images** (a sample reviewed twice counts in each batch) in label
batches the baseline does not contain; boxes are reported beside them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from maskops_assets.release.ledger import ReleaseLedger
from maskops_assets.store import ObjectStore
from maskops_assets.triggers.history import DatasetHistory
from maskops_assets.triggers.label_batches import BatchCounts, count_batches, list_batch_ids
from maskops_contracts import model_key
from maskops_store import ObjectNotFoundError


@dataclass(frozen=True)
class Baseline:
    """The label batches already learned from, and how that was found (for the UI)."""

    label_batches: frozenset[str]
    dataset_version: str | None
    described: str


@dataclass(frozen=True)
class NewLabels:
    """Reviewed labels not in the baseline dataset."""

    images: int
    boxes: int
    batches: tuple[str, ...]
    baseline: Baseline
    counts: dict[str, BatchCounts]

    def describe(self) -> str:
        return (
            f"{self.images} reviewed image(s) ({self.boxes} boxes) in {len(self.batches)} label batch(es) "
            f"new since {self.baseline.described}"
        )


def find_baseline(store: ObjectStore, datasets: DatasetHistory) -> Baseline:
    manifest = ReleaseLedger(store).current()
    if manifest is None:
        latest = datasets.latest()
        if latest is None:
            return Baseline(frozenset(), None, "nothing (no release and no dataset built yet)")
        return Baseline(
            frozenset(latest.label_batches),
            latest.version,
            f"{latest.version} (newest dataset; no release yet)",
        )
    model_version = manifest.champion.model_version
    lineage = _model_lineage(store, model_version)
    version = lineage.get("dataset_version")
    where = f"{version} (dataset of champion {model_version})"
    if isinstance(lineage.get("label_batches"), list):
        return Baseline(frozenset(map(str, lineage["label_batches"])), version, where)
    built = datasets.find(version) if version else None
    if built is not None:
        return Baseline(frozenset(built.label_batches), version, where)
    latest = datasets.latest()
    if latest is not None:
        return Baseline(
            frozenset(latest.label_batches),
            latest.version,
            f"{latest.version} (newest dataset; champion {model_version}'s dataset "
            f"{version or 'unrecorded'} is not in this Dagster instance)",
        )
    return Baseline(
        frozenset(),
        version,
        f"nothing (champion {model_version}'s dataset {version or 'unrecorded'} is unknown)",
    )


def _model_lineage(store: ObjectStore, model_version: str) -> dict:
    key = model_key(model_version, "metadata.json")
    try:
        lineage = json.loads(store.get_bytes(key)).get("lineage", {})
    except (ObjectNotFoundError, ValueError):
        return {}
    return lineage if isinstance(lineage, dict) else {}


def count_new_labels(
    store: ObjectStore, datasets: DatasetHistory, cache: Mapping[str, BatchCounts] | None = None
) -> NewLabels:
    """Reviewed labels in the store not in the baseline; ``cache`` spares re-reading known batches."""
    baseline = find_baseline(store, datasets)
    new = [b for b in list_batch_ids(store) if b not in baseline.label_batches]
    counts = count_batches(store, new, cache)
    return NewLabels(
        images=sum(c.images for c in counts.values()),
        boxes=sum(c.boxes for c in counts.values()),
        batches=tuple(new),
        baseline=baseline,
        counts=counts,
    )
