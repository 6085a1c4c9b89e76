"""What a new live manifest does with the shadow of the release it replaces (docs/shadow.md).

A shadow is an operator's comparison, started and stopped by hand (``start_shadow`` /
``stop_shadow``), not part of a release's models; so every other rewrite of the live manifest
carries the live release's shadow into the manifest it writes:

- a promotion and a rollback keep it, unless its model is one the cameras run under the new
  manifest (the champion, or the canary): a model is not compared with itself, so it is dropped;
- a new release keeps it, unless the model released is the shadow itself (it graduates to canary,
  or to champion with ``promote``: dropped), or the caller names the new manifest's shadow (a
  ``ShadowModel``, or None for none).

``carry_shadow`` decides and says why (``ShadowCarry.reason``); the release workflow logs a drop
and puts the decision in the materialization metadata of ``deployment_release``. Pure: no store.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Final

from maskops_assets.release.errors import ReleaseError
from maskops_contracts import ReleaseManifest
from maskops_contracts.manifest import ShadowModel


class KeepShadow(enum.Enum):
    """The caller names no shadow: carry the live release's (``KEEP_SHADOW``)."""

    KEEP = "keep"


KEEP_SHADOW: Final = KeepShadow.KEEP
#: What a caller may say about the new manifest's shadow: this one, keep the live one, or none.
ShadowChoice = ShadowModel | KeepShadow | None

#: ``ShadowCarry.decision``: what the new manifest's shadow is, relative to the live one.
KEPT = "kept"  # the live release's shadow goes on
DROPPED = "dropped"  # the live release had one; its model is now run by cameras
SET = "set"  # the caller named the new manifest's shadow (or none)
NO_SHADOW = "none"  # the live release had none, and the new manifest has none


@dataclass(frozen=True)
class ShadowCarry:
    """The shadow a new manifest carries (None: none), what became of the live one, and why."""

    shadow: ShadowModel | None
    decision: str
    reason: str

    def apply(self, manifest: ReleaseManifest) -> ReleaseManifest:
        """``manifest`` with this shadow (the same object when it has it already)."""
        if manifest.shadow == self.shadow:
            return manifest
        return dataclasses.replace(manifest, shadow=self.shadow)

    def metadata(self) -> dict[str, str]:
        """Plain values for the release asset's metadata."""
        return {
            "shadow": self.shadow.model_version if self.shadow else "none",
            "shadow_decision": self.decision,
            "shadow_reason": self.reason,
        }


def role_in(manifest: ReleaseManifest, model_version: str) -> str | None:
    """``champion`` or ``canary`` when cameras run ``model_version`` under ``manifest``, else None."""
    if manifest.champion.model_version == model_version:
        return "champion"
    if manifest.canary is not None and manifest.canary.model_version == model_version:
        return "canary"
    return None


def carry_shadow(
    live: ReleaseManifest | None,
    planned: ReleaseManifest,
    shadow: ShadowChoice = KEEP_SHADOW,
) -> ShadowCarry:
    """The shadow ``planned`` (about to replace ``live``) should carry: ``shadow`` when the caller
    names one (None: none), else the live release's, unless cameras run its model under ``planned``.

    Only ``planned``'s champion and canary count, never its own shadow: a rollback target keeps
    no shadow of its own (the live release's goes on, or none), and asking again about a manifest
    that already carries the result gives the same answer. Raises ``ReleaseError`` for a named
    shadow that cameras run under ``planned``.
    """
    if shadow is not KEEP_SHADOW:
        if shadow is None:
            return ShadowCarry(None, SET, f"release {planned.release_id} has no shadow: the caller set none")
        role = role_in(planned, shadow.model_version)
        if role is not None:
            raise ReleaseError(
                f"{shadow.model_version} is the {role} of release {planned.release_id}: a shadow of it "
                "would only compare the model with itself; name another shadow, or none"
            )
        return ShadowCarry(shadow, SET, f"{shadow.model_version} is the shadow the caller named")
    current = live.shadow if live is not None else None
    if current is None:
        reason = f"release {live.release_id} has no shadow" if live is not None else "no release before"
        return ShadowCarry(None, NO_SHADOW, reason)
    role = role_in(planned, current.model_version)
    if role is not None:
        return ShadowCarry(
            None,
            DROPPED,
            f"shadow {current.model_version} of release {live.release_id} dropped: it is the {role} of "
            f"release {planned.release_id}, and a model is not compared with itself",
        )
    return ShadowCarry(
        current, KEPT, f"shadow {current.model_version} carried over from release {live.release_id}"
    )
