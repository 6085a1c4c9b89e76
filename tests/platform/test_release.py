"""Release manifests in a real (local) object store: first release, canary, promotion, history."""

import json
from pathlib import Path

import pytest

from maskops_assets.release.ledger import (
    HISTORY_PREFIX,
    ReleaseError,
    ReleaseLedger,
    new_release_id,
    plan_promotion,
    plan_release,
)
from maskops_assets.release.publish import publish_model
from maskops_assets.store import LocalObjectStore
from maskops_assets.training.export import ExportedModel
from maskops_contracts import MANIFEST_KEY, ModelRef, ModelVariant, ReleaseManifest


def ref(version: str) -> ModelRef:
    return ModelRef(version, f"models/{version}/model.onnx", version[-1] * 64)


@pytest.fixture
def ledger(tmp_path: Path) -> ReleaseLedger:
    return ReleaseLedger(LocalObjectStore(tmp_path / "store"))


def test_first_release_makes_the_candidate_champion(ledger: ReleaseLedger):
    assert ledger.current() is None
    manifest = plan_release(None, ref("m-v1"), release_id="rel-1", canary_percentage=10.0)
    ledger.publish(manifest)
    live = ledger.current()
    assert live == manifest
    assert live.champion.model_version == "m-v1" and live.canary is None and live.previous_release_id is None
    assert ledger.release_ids() == ["rel-1"]


def test_next_release_is_a_canary_beside_the_champion(ledger: ReleaseLedger):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    second = plan_release(
        ledger.current(), ref("m-v2"), release_id="rel-2", canary_cameras=("cam-a", "cam-b")
    )
    ledger.publish(second)
    live = ledger.current()
    assert live.champion.model_version == "m-v1"
    assert live.canary.model_version == "m-v2" and live.canary.cameras == ("cam-a", "cam-b")
    assert live.previous_release_id == "rel-1"
    assert live.model_for("cam-a").model_version == "m-v2"
    assert live.model_for("cam-z").model_version == "m-v1"
    # every manifest stays in history, byte for byte what was live
    stored = json.loads(ledger.store.get_bytes(f"{HISTORY_PREFIX}rel-1.json"))
    assert stored["champion"]["model_version"] == "m-v1"
    assert sorted(ledger.release_ids()) == ["rel-1", "rel-2"]


def test_promote_flag_and_promotion_of_a_canary(ledger: ReleaseLedger):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    direct = plan_release(ledger.current(), ref("m-v2"), release_id="rel-2", promote=True)
    assert direct.champion.model_version == "m-v2" and direct.canary is None
    ledger.publish(plan_release(ledger.current(), ref("m-v3"), release_id="rel-3", canary_percentage=25.0))
    promoted = plan_promotion(ledger.current(), release_id="rel-4")
    assert promoted.champion.model_version == "m-v3" and promoted.canary is None
    assert promoted.previous_release_id == "rel-3"
    ReleaseManifest.from_json(promoted.to_json())  # still a valid contract manifest


def test_promotion_keeps_the_variants_the_gate_measured(ledger: ReleaseLedger):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    measured = ModelRef(
        "m-v2",
        "models/m-v2/model.onnx",
        "2" * 64,
        variants=(
            ModelVariant("fp32", "openvino", "models/m-v2/model.onnx", "2" * 64, 0.91, 0.61),
            ModelVariant("bf16", "openvino", "models/m-v2/model.onnx", "2" * 64, 0.905, 0.60),
        ),
    )
    ledger.publish(plan_release(ledger.current(), measured, release_id="rel-2", canary_percentage=10.0))
    promoted = plan_promotion(ledger.current(), release_id="rel-3")
    assert promoted.champion == measured  # a promoted champion runs what was measured, no more
    assert promoted.champion.measured_precisions("openvino") == ("fp32", "bf16")


def test_canary_needs_cameras_or_percentage(ledger: ReleaseLedger):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    with pytest.raises(ReleaseError, match="canary_cameras or canary_percentage"):
        plan_release(ledger.current(), ref("m-v2"), release_id="rel-2")
    with pytest.raises(ReleaseError, match="has no canary"):
        plan_promotion(ledger.current(), release_id="rel-3")


def test_the_live_model_is_not_released_again(ledger: ReleaseLedger):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    with pytest.raises(ReleaseError, match="already the champion of release rel-1"):
        plan_release(ledger.current(), ref("m-v1"), release_id="rel-2", canary_percentage=10.0)
    ledger.publish(plan_release(ledger.current(), ref("m-v2"), release_id="rel-2", canary_percentage=10.0))
    with pytest.raises(ReleaseError, match="already the canary of release rel-2"):
        plan_release(ledger.current(), ref("m-v2"), release_id="rel-3", canary_percentage=20.0)
    promoted = plan_release(ledger.current(), ref("m-v2"), release_id="rel-3", promote=True)
    assert promoted.champion.model_version == "m-v2" and promoted.canary is None


def test_release_ids_are_valid_and_unique():
    ids = {new_release_id() for _ in range(20)}
    assert len(ids) == 20
    for release_id in ids:
        ReleaseManifest(release_id=release_id, champion=ref("m-v1"))


def test_publish_model_writes_the_three_files(tmp_path: Path):
    files = tmp_path / "export"
    files.mkdir()
    for name, data in (("model.onnx", b"onnx"), ("model.pt", b"pt"), ("metadata.json", b"{}")):
        (files / name).write_bytes(data)
    exported = ExportedModel(
        files,
        files / "model.onnx",
        files / "model.pt",
        files / "metadata.json",
        "b" * 64,
        96,
        ("a", "b", "c"),
    )
    store = LocalObjectStore(tmp_path / "store")
    published = publish_model(store, exported, "m-v7")
    assert store.get_bytes("models/m-v7/model.onnx") == b"onnx"
    assert store.get_bytes("models/m-v7/model.pt") == b"pt"
    assert store.exists("models/m-v7/metadata.json")
    assert published.ref.uri == "models/m-v7/model.onnx" and published.ref.imgsz == 96
    assert not store.exists(MANIFEST_KEY)  # publishing a model releases nothing
