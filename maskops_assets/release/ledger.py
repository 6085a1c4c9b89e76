"""The release ledger in the object store: the live manifest plus every manifest ever written.

``releases/manifest.json`` is what cameras read; ``releases/history/<release_id>.json`` keeps each
release so a rollback can restore the one before it. A release is written to history first and
made live second, so the live manifest always has its history entry.

Every manifest planned here carries the live release's shadow by the rules of
``maskops_assets.release.shadow_carry`` (docs/shadow.md): kept, unless cameras run its model under
the new manifest. A rollback that carries a shadow other than the one the restored release was
recorded with rewrites that release's history entry first (as ``start_shadow`` does), so the live
manifest still equals its history entry.
"""

from __future__ import annotations

import secrets
from dataclasses import fields, replace
from datetime import UTC, datetime

from maskops_assets.release.errors import ReleaseError
from maskops_assets.release.shadow_carry import KEEP_SHADOW, ShadowChoice, carry_shadow
from maskops_assets.store import ObjectStore
from maskops_contracts import MANIFEST_KEY, CanaryModel, ModelRef, ReleaseManifest

HISTORY_PREFIX = "releases/history/"


def history_key(release_id: str) -> str:
    return f"{HISTORY_PREFIX}{release_id}.json"


def new_release_id(now: datetime | None = None) -> str:
    """``rel-YYYYmmddTHHMMSSZ-xxxx``: sortable by time, unique across concurrent writers."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"rel-{stamp}-{secrets.token_hex(2)}"


class ReleaseLedger:
    """Read and write releases in one object store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def current(self) -> ReleaseManifest | None:
        """The live manifest, or None before the first release."""
        if not self.store.exists(MANIFEST_KEY):
            return None
        return ReleaseManifest.from_json(self.store.get_bytes(MANIFEST_KEY), source=MANIFEST_KEY)

    def get(self, release_id: str) -> ReleaseManifest:
        key = history_key(release_id)
        if not self.store.exists(key):
            raise ReleaseError(f"release {release_id} has no history entry at {key}; it cannot be restored")
        return ReleaseManifest.from_json(self.store.get_bytes(key), source=key)

    def release_ids(self) -> list[str]:
        keys: list[str] = []
        start_after = None
        while True:
            page = self.store.list_keys(HISTORY_PREFIX, start_after=start_after, limit=1000)
            keys.extend(page)
            if len(page) < 1000:
                break
            start_after = page[-1]
        return [key[len(HISTORY_PREFIX) : -len(".json")] for key in keys if key.endswith(".json")]

    def publish(self, manifest: ReleaseManifest) -> None:
        """Record ``manifest`` in history, then make it live."""
        data = manifest.to_json().encode("utf-8")
        self.store.put_bytes(history_key(manifest.release_id), data, "application/json")
        self.store.put_bytes(MANIFEST_KEY, data, "application/json")

    def restore(self, manifest: ReleaseManifest) -> None:
        """Make an earlier release live again, unchanged but for the shadow it carries (its history
        entry already exists; it is rewritten first when the shadow differs from the recorded one)."""
        recorded = self.get(manifest.release_id)
        data = manifest.to_json().encode("utf-8")
        if recorded != manifest:
            if replace(recorded, shadow=manifest.shadow) != manifest:
                raise ReleaseError(
                    f"release {manifest.release_id} differs from its history entry "
                    f"{history_key(manifest.release_id)} in more than its shadow; a restore only makes a "
                    "recorded release live again (publish a new release instead)"
                )
            self.store.put_bytes(history_key(manifest.release_id), data, "application/json")
        self.store.put_bytes(MANIFEST_KEY, data, "application/json")


def plan_release(
    current: ReleaseManifest | None,
    candidate: ModelRef,
    *,
    release_id: str,
    canary_cameras: tuple[str, ...] = (),
    canary_percentage: float | None = None,
    promote: bool = False,
    shadow: ShadowChoice = KEEP_SHADOW,
) -> ReleaseManifest:
    """The next manifest for ``candidate``.

    The candidate becomes the canary beside the current champion; it becomes the champion at once
    when ``promote`` is set or when there is no release yet (cameras need some model to run). The
    live shadow is kept unless the candidate is that shadow model; ``shadow`` names another (or
    None for none).
    """
    planned = _plan_models(
        current,
        candidate,
        release_id=release_id,
        canary_cameras=canary_cameras,
        canary_percentage=canary_percentage,
        promote=promote,
    )
    return carry_shadow(current, planned, shadow).apply(planned)


def _plan_models(
    current: ReleaseManifest | None,
    candidate: ModelRef,
    *,
    release_id: str,
    canary_cameras: tuple[str, ...],
    canary_percentage: float | None,
    promote: bool,
) -> ReleaseManifest:
    """The champion and canary of the next manifest for ``candidate`` (no shadow yet)."""
    previous = current.release_id if current else None
    if current is not None:
        version = candidate.model_version
        if version == current.champion.model_version:
            raise ReleaseError(
                f"{version} is already the champion of release {current.release_id}; nothing to release "
                "(a new release of the live model would only make the rollback target meaningless)"
            )
        if current.canary is not None and version == current.canary.model_version and not promote:
            raise ReleaseError(
                f"{version} is already the canary of release {current.release_id}; "
                "run promote_canary (or release with promote) to make it the champion"
            )
    if promote or current is None:
        return ReleaseManifest(
            release_id=release_id, champion=candidate, canary=None, previous_release_id=previous
        )
    if not canary_cameras and canary_percentage is None:
        raise ReleaseError(
            "a canary release needs canary_cameras or canary_percentage; set one, or set promote"
        )
    canary = CanaryModel(**candidate.__dict__, cameras=tuple(canary_cameras), percentage=canary_percentage)
    return ReleaseManifest(
        release_id=release_id, champion=current.champion, canary=canary, previous_release_id=previous
    )


def plan_promotion(current: ReleaseManifest | None, *, release_id: str) -> ReleaseManifest:
    """The manifest that makes the live canary the champion of every camera; the live shadow is
    kept unless it is the promoted model."""
    if current is None or current.canary is None:
        where = "no release exists yet" if current is None else f"release {current.release_id} has no canary"
        raise ReleaseError(f"nothing to promote: {where}; run deployment_release first")
    canary = current.canary
    # every field a model reference has (variants included), none of the canary's own
    champion = ModelRef(**{f.name: getattr(canary, f.name) for f in fields(ModelRef)})
    planned = ReleaseManifest(
        release_id=release_id, champion=champion, canary=None, previous_release_id=current.release_id
    )
    return carry_shadow(current, planned).apply(planned)


def plan_rollback(ledger: ReleaseLedger) -> tuple[ReleaseManifest, ReleaseManifest]:
    """(live release, the release to restore): the one the live manifest names as its previous,
    carrying the live release's shadow unless cameras run its model under the restored release."""
    current = ledger.current()
    if current is None:
        raise ReleaseError(f"no live release at {MANIFEST_KEY}; there is nothing to roll back")
    if current.previous_release_id is None:
        raise ReleaseError(
            f"release {current.release_id} is the first release; there is no earlier one to restore"
        )
    restored = ledger.get(current.previous_release_id)
    return current, carry_shadow(current, restored).apply(restored)
