"""Keep MLflow's aliases in step with the live manifest: ``@champion`` and ``@challenger`` (canary)."""

from __future__ import annotations

from dataclasses import dataclass

from maskops_assets.tracking.registry import CHALLENGER, CHAMPION, ModelRegistry, RegistryError
from maskops_contracts import ReleaseManifest


@dataclass(frozen=True)
class AliasState:
    """Registry versions behind the aliases after a sync (None: alias removed)."""

    champion: str
    challenger: str | None


def sync_aliases(registry: ModelRegistry, manifest: ReleaseManifest) -> AliasState:
    """Point ``@champion`` at the manifest's champion and ``@challenger`` at its canary (or remove it)."""
    champion = _registered(registry, manifest.champion.model_version)
    registry.set_alias(CHAMPION, champion)
    challenger = None
    if manifest.canary is not None:
        challenger = _registered(registry, manifest.canary.model_version)
        registry.set_alias(CHALLENGER, challenger)
    else:
        registry.delete_alias(CHALLENGER)
    return AliasState(champion, challenger)


def _registered(registry: ModelRegistry, model_version: str) -> str:
    found = registry.find_by_model_version(model_version)
    if found is None:
        raise RegistryError(
            f"model_version {model_version} has no version of registered model {registry.model_name} "
            "(tag maskops.model_version); was it trained against a different MLflow tracking store?"
        )
    return found.version
