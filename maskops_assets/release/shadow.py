"""Put a candidate into the live manifest as the ``shadow`` model, and take it out again.

A shadow changes no camera's model: it names a model some cameras (a list, or a percentage by the
canary's stable hash) also run on ``frame_share`` of their frames, only to compare it with theirs
(docs/shadow.md). Starting or stopping one therefore rewrites the live release under its own
``release_id`` (history first, then live, as ``ReleaseLedger.publish`` does) rather than making a
new release: a rollback still goes to the release before. A shadow started here stays until it is
stopped here: a new release, a promotion and a rollback carry it into the manifest they write,
unless the cameras then run its model themselves (``maskops_assets.release.shadow_carry``).

The model must be published in the store (``models/<model_version>/model.onnx`` with its
``metadata.json``, as ``publish_model`` writes them); its sha256 is computed from the stored file,
so a camera checks exactly the bytes that are there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from maskops_assets.release.ledger import ReleaseError, ReleaseLedger
from maskops_assets.training.export import METADATA_JSON, MODEL_ONNX
from maskops_contracts import ContractError, ModelRef, ReleaseManifest, model_key
from maskops_contracts.manifest import DEFAULT_SHADOW_FRAME_SHARE, ShadowModel


def published_model_ref(ledger: ReleaseLedger, model_version: str) -> ModelRef:
    """The reference of a model published in the store: its ONNX file's key and sha256, and the
    image size and classes its ``metadata.json`` gives."""
    store = ledger.store
    onnx_key, metadata_key = model_key(model_version, MODEL_ONNX), model_key(model_version, METADATA_JSON)
    for key in (onnx_key, metadata_key):
        if not store.exists(key):
            raise ReleaseError(
                f"{model_version} is not published: {key} is not in the store (a model is published "
                "by model_evaluation/deployment_release, or maskops_assets.release.publish.publish_model)"
            )
    try:
        metadata = json.loads(store.get_bytes(metadata_key))
        return ModelRef(
            model_version=model_version,
            uri=onnx_key,
            sha256=hashlib.sha256(store.get_bytes(onnx_key)).hexdigest(),
            imgsz=metadata["imgsz"],
            class_names=tuple(metadata["class_names"]),
        )
    except (ValueError, KeyError, TypeError, ContractError) as err:
        raise ReleaseError(f"{metadata_key} does not describe the model: {err!r}") from err


def plan_shadow(
    current: ReleaseManifest | None,
    model: ModelRef,
    *,
    cameras: tuple[str, ...] = (),
    percentage: float | None = None,
    frame_share: float = DEFAULT_SHADOW_FRAME_SHARE,
) -> ReleaseManifest:
    """The live release with ``model`` as its shadow on ``cameras`` (or ``percentage`` of them)."""
    if current is None:
        raise ReleaseError(
            "no live release: a shadow is compared with the cameras' model, so release one first"
        )
    if model.model_version == current.champion.model_version:
        raise ReleaseError(
            f"{model.model_version} is the champion of release {current.release_id}: a shadow of it "
            "would only compare the model with itself"
        )
    try:
        shadow = ShadowModel(
            **{f.name: getattr(model, f.name) for f in dataclasses.fields(ModelRef)},
            cameras=tuple(cameras),
            percentage=percentage,
            frame_share=frame_share,
        )
    except ContractError as err:
        raise ReleaseError(f"shadow {model.model_version}: {err}") from err
    return dataclasses.replace(current, shadow=shadow)


def start_shadow(
    ledger: ReleaseLedger,
    model_version: str,
    *,
    cameras: tuple[str, ...] = (),
    percentage: float | None = None,
    frame_share: float = DEFAULT_SHADOW_FRAME_SHARE,
) -> ReleaseManifest:
    """Make the published ``model_version`` the live release's shadow; returns the manifest written."""
    manifest = plan_shadow(
        ledger.current(),
        published_model_ref(ledger, model_version),
        cameras=cameras,
        percentage=percentage,
        frame_share=frame_share,
    )
    ledger.publish(manifest)
    return manifest


def stop_shadow(ledger: ReleaseLedger) -> ReleaseManifest | None:
    """Take the shadow out of the live release; returns the manifest written (None: there was no
    shadow, nothing was written)."""
    current = ledger.current()
    if current is None or current.shadow is None:
        return None
    manifest = dataclasses.replace(current, shadow=None)
    ledger.publish(manifest)
    return manifest
