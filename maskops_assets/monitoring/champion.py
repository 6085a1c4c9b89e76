"""The model the cameras run, and the dataset version it was trained on: what the drift reference is.

The live manifest (``releases/manifest.json``) names the champion's ``model_version``; the
``metadata.json`` published beside its ONNX (``models/<model_version>/metadata.json``) carries its
lineage, ``dataset_version`` included. A model published before that lineage existed is looked up
in the MLflow registry instead (its version's ``maskops.dataset_version`` tag).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maskops_assets.release.ledger import ReleaseLedger
from maskops_contracts import model_key
from maskops_store import ObjectNotFoundError, ObjectStore

if TYPE_CHECKING:
    from maskops_assets.tracking.registry import ModelRegistry


class NoReferenceYet(LookupError):
    """There is nothing to build a drift reference from yet; the message says what is missing."""


@dataclass(frozen=True)
class ChampionLineage:
    """The released champion: its ONNX (store key, digest, input size) and its dataset version."""

    release_id: str
    model_version: str
    onnx_key: str
    sha256: str
    imgsz: int
    dataset_version: str


def champion_lineage(
    store: ObjectStore, registry: ModelRegistry | Callable[[], ModelRegistry] | None = None
) -> ChampionLineage:
    """The live champion and its dataset version; ``NoReferenceYet`` when there is none yet.

    ``registry`` (or a function that opens it, called only when needed) is asked only for a model
    whose metadata.json in the store carries no dataset version."""
    manifest = ReleaseLedger(store).current()
    if manifest is None:
        raise NoReferenceYet(
            "no release yet (releases/manifest.json is missing): no champion to compare with"
        )
    champion = manifest.champion
    dataset_version = _from_model_metadata(store, champion.model_version)
    if dataset_version is None and registry is not None:
        dataset_version = _from_registry(
            registry() if callable(registry) else registry, champion.model_version
        )
    if not dataset_version:
        raise NoReferenceYet(
            f"champion {champion.model_version} (release {manifest.release_id}) names no dataset version: "
            f"neither {model_key(champion.model_version, 'metadata.json')} nor the MLflow registry has one"
        )
    return ChampionLineage(
        release_id=manifest.release_id,
        model_version=champion.model_version,
        onnx_key=champion.uri,
        sha256=champion.sha256,
        imgsz=champion.imgsz,
        dataset_version=dataset_version,
    )


def _from_model_metadata(store: ObjectStore, model_version: str) -> str | None:
    key = model_key(model_version, "metadata.json")
    try:
        metadata = json.loads(store.get_bytes(key))
    except (ObjectNotFoundError, ValueError):
        return None
    lineage = metadata.get("lineage") if isinstance(metadata, dict) else None
    version = lineage.get("dataset_version") if isinstance(lineage, dict) else None
    return str(version) if version else None


def _from_registry(registry: ModelRegistry, model_version: str) -> str | None:
    from maskops_assets.tracking.registry import DATASET_VERSION_TAG

    version = registry.find_by_model_version(model_version)
    if version is None:
        return None
    return registry.trained_on(version).get(DATASET_VERSION_TAG)
