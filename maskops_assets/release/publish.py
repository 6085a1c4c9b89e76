"""Put an exported model where cameras fetch it: ``models/<model_version>/`` in the object store."""

from __future__ import annotations

from dataclasses import dataclass

from maskops_assets.store import ObjectStore
from maskops_assets.training.export import METADATA_JSON, MODEL_ONNX, MODEL_PT, ExportedModel
from maskops_contracts import ModelRef, model_key


@dataclass(frozen=True)
class PublishedModel:
    """The store keys of one model version and the reference a manifest pins."""

    model_version: str
    onnx_key: str
    weights_key: str
    metadata_key: str
    ref: ModelRef


def publish_model(store: ObjectStore, exported: ExportedModel, model_version: str) -> PublishedModel:
    """Upload weights and metadata first and the ONNX graph last, so a listed graph has its metadata."""
    keys = {name: model_key(model_version, name) for name in (MODEL_PT, METADATA_JSON, MODEL_ONNX)}
    store.put_bytes(keys[MODEL_PT], exported.weights.read_bytes(), "application/octet-stream")
    store.put_bytes(keys[METADATA_JSON], exported.metadata.read_bytes(), "application/json")
    store.put_bytes(keys[MODEL_ONNX], exported.onnx.read_bytes(), "application/octet-stream")
    ref = ModelRef(
        model_version=model_version,
        uri=keys[MODEL_ONNX],
        sha256=exported.sha256,
        imgsz=exported.imgsz,
        class_names=exported.class_names,
    )
    return PublishedModel(model_version, keys[MODEL_ONNX], keys[MODEL_PT], keys[METADATA_JSON], ref)
