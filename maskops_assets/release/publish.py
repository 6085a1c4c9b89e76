"""Put an exported model where cameras fetch it: ``models/<model_version>/`` in the object store.

The INT8 model, where there is one, goes beside it as ``model_int8.zip``; whether a camera may
run it is the release gate's call (the manifest lists it only when it measured within
``int8_max_drop``).
"""

from __future__ import annotations

from dataclasses import dataclass

from maskops_assets.store import ObjectStore
from maskops_assets.training.export import METADATA_JSON, MODEL_ONNX, MODEL_PT, ExportedModel
from maskops_assets.training.quantize import MODEL_INT8, QuantizedModel
from maskops_contracts import ModelRef, model_key


@dataclass(frozen=True)
class PublishedModel:
    """The store keys of one model version and the reference a manifest pins."""

    model_version: str
    onnx_key: str
    weights_key: str
    metadata_key: str
    ref: ModelRef
    int8_key: str | None = None


def publish_model(
    store: ObjectStore, exported: ExportedModel, model_version: str, int8: QuantizedModel | None = None
) -> PublishedModel:
    """Upload weights, metadata and the INT8 model first and the ONNX graph last, so a listed graph
    has its metadata (and its INT8 file, when it has one)."""
    keys = {name: model_key(model_version, name) for name in (MODEL_PT, METADATA_JSON, MODEL_ONNX)}
    store.put_bytes(keys[MODEL_PT], exported.weights.read_bytes(), "application/octet-stream")
    store.put_bytes(keys[METADATA_JSON], exported.metadata.read_bytes(), "application/json")
    int8_key = model_key(model_version, MODEL_INT8) if int8 is not None else None
    if int8 is not None and int8_key is not None:
        store.put_bytes(int8_key, int8.path.read_bytes(), "application/octet-stream")
    store.put_bytes(keys[MODEL_ONNX], exported.onnx.read_bytes(), "application/octet-stream")
    ref = ModelRef(
        model_version=model_version,
        uri=keys[MODEL_ONNX],
        sha256=exported.sha256,
        imgsz=exported.imgsz,
        class_names=exported.class_names,
    )
    return PublishedModel(
        model_version, keys[MODEL_ONNX], keys[MODEL_PT], keys[METADATA_JSON], ref, int8_key
    )
