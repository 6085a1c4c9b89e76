"""The one release workflow: release, promote, roll back, and park a candidate for approval.

Each change of the live manifest is the same four steps: plan the manifest, write it to the ledger
(history first, live second), move the MLflow aliases to match, and tag the MLflow run of the model
concerned; each returns a ``ReleaseOutcome`` whose ``metadata()`` the Dagster layer records as a
materialization of ``deployment_release``, whoever made the change (a person, the release policy,
the canary watch). Plain code: no Dagster here.

Each step carries the live release's shadow into the manifest it writes, by the rules of
``maskops_assets.release.shadow_carry`` (docs/shadow.md): a promotion or a rollback keeps it unless
cameras run its model under the new manifest; a release keeps it unless the released model is the
shadow, or the caller names another (``shadow=``). The outcome's metadata says which shadow the
new manifest carries (``shadow``, ``shadow_decision``, ``shadow_reason``), and a dropped shadow is
logged as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from maskops_assets.release.aliases import AliasState, sync_aliases
from maskops_assets.release.ledger import (
    ReleaseError,
    ReleaseLedger,
    new_release_id,
    plan_promotion,
    plan_release,
    plan_rollback,
)
from maskops_assets.release.shadow_carry import DROPPED, KEEP_SHADOW, ShadowCarry, ShadowChoice, carry_shadow
from maskops_assets.tracking.registry import CHALLENGER, ModelRegistry, RegistryError
from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest

RELEASE = "release"
PROMOTE = "promote"
ROLLBACK = "rollback"

RELEASE_ID_TAG = "maskops.release_id"
APPROVED_BY_TAG = "maskops.approved_by"
RELEASE_STATE_TAG = "maskops.release_state"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseOutcome:
    """The live manifest after one workflow step, the one it replaced, and where the aliases point."""

    action: str
    manifest: ReleaseManifest
    replaced: ReleaseManifest | None
    aliases: AliasState
    shadow: ShadowCarry
    tagged_run: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def role(self) -> str:
        """What the step made of its model: ``canary`` or ``champion`` (rollback: ``restored``)."""
        if self.action == ROLLBACK:
            return "restored"
        return "canary" if self.manifest.canary is not None else "champion"

    def metadata(self) -> dict[str, Any]:
        """Plain values describing the live manifest after this step (JSON-able)."""
        manifest = self.manifest
        return {
            "action": self.action,
            "release_id": manifest.release_id,
            "previous_release_id": manifest.previous_release_id or "none",
            "replaced_release_id": self.replaced.release_id if self.replaced else "none",
            "champion": manifest.champion.model_version,
            "canary": manifest.canary.model_version if manifest.canary else "none",
            "champion_alias_version": self.aliases.champion,
            "challenger_alias_version": self.aliases.challenger or "none",
            "manifest_key": MANIFEST_KEY,
            "manifest": manifest.to_dict(),
            **self.shadow.metadata(),
            **self.details,
        }


@dataclass(frozen=True)
class AwaitingApproval:
    """A gated candidate parked as ``@challenger``; the live manifest is unchanged."""

    model_version: str
    registered_version: str
    live: ReleaseManifest | None


class ReleaseWorkflow:
    """Release operations over one ledger (object store) and one MLflow registry."""

    def __init__(self, ledger: ReleaseLedger, registry: ModelRegistry) -> None:
        self.ledger = ledger
        self.registry = registry

    def release(
        self,
        candidate: ModelRef,
        *,
        mlflow_run_id: str | None,
        approved_by: str = "",
        canary_cameras: tuple[str, ...] = (),
        canary_percentage: float | None = None,
        promote: bool = False,
        release_id: str | None = None,
        shadow: ShadowChoice = KEEP_SHADOW,
    ) -> ReleaseOutcome:
        """Ship ``candidate``: canary beside the champion (champion on the first release or ``promote``).

        The live shadow goes on unless ``candidate`` is that shadow model; ``shadow`` names the new
        manifest's shadow instead (None: none)."""
        current = self.ledger.current()
        manifest = plan_release(
            current,
            candidate,
            release_id=release_id or new_release_id(),
            canary_cameras=canary_cameras,
            canary_percentage=None if canary_cameras else canary_percentage,
            promote=promote,
            shadow=shadow,
        )
        tags = {RELEASE_ID_TAG: manifest.release_id, APPROVED_BY_TAG: approved_by or "-"}
        tags[RELEASE_STATE_TAG] = "canary" if manifest.canary is not None else "champion"
        return self._make_live(
            RELEASE, manifest, current, restore=False, run_id=mlflow_run_id, tags=tags, shadow=shadow
        )

    def promote(self, *, reason: str = "", release_id: str | None = None) -> ReleaseOutcome:
        """Make the live canary the champion of every camera."""
        current = self.ledger.current()
        manifest = plan_promotion(current, release_id=release_id or new_release_id())
        run_id = self._run_of(manifest.champion.model_version)
        tags = {RELEASE_ID_TAG: manifest.release_id, RELEASE_STATE_TAG: "champion"}
        if reason:
            tags["maskops.promoted_because"] = reason
        return self._make_live(PROMOTE, manifest, current, restore=False, run_id=run_id, tags=tags)

    def rollback(self, *, reason: str = "") -> ReleaseOutcome:
        """Restore the release before the live one, unchanged; tag the run of the model taken off."""
        live, restored = plan_rollback(self.ledger)
        withdrawn = live.canary or live.champion
        run_id = self._run_of(withdrawn.model_version)
        tags = {"maskops.rolled_back_in": live.release_id, RELEASE_STATE_TAG: "rolled_back"}
        if reason:
            tags["maskops.rolled_back_because"] = reason
        return self._make_live(
            ROLLBACK,
            restored,
            live,
            restore=True,
            run_id=run_id,
            tags=tags,
            details={"rolled_back_from": live.release_id, "withdrawn_model": withdrawn.model_version},
        )

    def await_approval(
        self, *, model_version: str, registered_version: str, mlflow_run_id: str | None
    ) -> AwaitingApproval:
        """Point ``@challenger`` at the candidate and tag its run; the live manifest stays as it is."""
        live = self.ledger.current()
        running = (
            {live.champion.model_version, live.canary.model_version if live.canary else None}
            if live
            else set()
        )
        if model_version in running:
            raise ReleaseError(
                f"{model_version} is already live in release {live.release_id}; nothing awaits approval "
                "(train a new candidate, or run promote_canary / rollback_release)"
            )
        try:
            self.registry.set_alias(CHALLENGER, registered_version)
        except Exception as err:  # MlflowException: no such version in this registry
            raise ReleaseError(
                f"could not set @{CHALLENGER} to version {registered_version} ({model_version}) of "
                f"{self.registry.model_name}: {err}"
            ) from err
        if mlflow_run_id:
            self.registry.set_tags(mlflow_run_id, {RELEASE_STATE_TAG: "awaiting_approval"})
        return AwaitingApproval(model_version, registered_version, live)

    # ----------------------------------------------------------------------------------------------
    def _make_live(
        self,
        action: str,
        manifest: ReleaseManifest,
        replaced: ReleaseManifest | None,
        *,
        restore: bool,
        run_id: str | None,
        tags: dict[str, str],
        details: dict[str, Any] | None = None,
        shadow: ShadowChoice = KEEP_SHADOW,
    ) -> ReleaseOutcome:
        # the plan carried the shadow already (plan_*); the same pure rule, asked again, says why
        carried = carry_shadow(replaced, manifest, shadow)
        # the registry is reached before anything is written: an unreachable MLflow fails the step
        # while the old manifest is still live
        self._check_registered(manifest)
        if restore:
            self.ledger.restore(manifest)
        else:
            self.ledger.publish(manifest)
        try:
            aliases = sync_aliases(self.registry, manifest)
        except RegistryError as err:
            raise ReleaseError(
                f"manifest {manifest.release_id} is live but the MLflow aliases were not moved: {err}"
            ) from err
        if run_id:
            self.registry.set_tags(run_id, tags)
        if carried.decision == DROPPED:
            log.warning("%s %s: %s", action, manifest.release_id, carried.reason)
        return ReleaseOutcome(action, manifest, replaced, aliases, carried, run_id, dict(details or {}))

    def _check_registered(self, manifest: ReleaseManifest) -> None:
        for model in (manifest.champion, manifest.canary):
            if model is not None and self.registry.find_by_model_version(model.model_version) is None:
                raise ReleaseError(
                    f"model_version {model.model_version} has no version of registered model "
                    f"{self.registry.model_name} (tag maskops.model_version); nothing was changed. Was it "
                    "trained against a different MLflow tracking store?"
                )

    def _run_of(self, model_version: str) -> str | None:
        found = self.registry.find_by_model_version(model_version)
        return found.run_id if found is not None and found.run_id else None
