"""An operator's shadow survives the release workflow: a new release, a promotion and a rollback
carry the live release's shadow into the manifest they write, unless the cameras then run its model
themselves (then it is dropped, and the outcome says why). Plain ledger on a local-folder store,
manifests built by hand, so every verdict is known by construction."""

import logging
from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.defs import release as release_defs
from maskops_assets.release.ledger import (
    ReleaseError,
    ReleaseLedger,
    plan_promotion,
    plan_release,
    plan_rollback,
)
from maskops_assets.release.shadow import plan_shadow
from maskops_assets.release.shadow_carry import DROPPED, KEPT, NO_SHADOW, SET, carry_shadow
from maskops_assets.release.workflow import ReleaseWorkflow
from maskops_assets.resources import MlflowResource, ObjectStoreResource
from maskops_assets.store import LocalObjectStore
from maskops_assets.tracking.registry import ModelRegistry
from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest
from maskops_contracts.manifest import ShadowModel


def ref(version: str) -> ModelRef:
    return ModelRef(version, f"models/{version}/model.onnx", version[-1] * 64)


def shadow_of(version: str, *cameras: str) -> ShadowModel:
    return ShadowModel(**ref(version).__dict__, cameras=cameras or ("door",), frame_share=0.2)


def start_shadow(ledger: ReleaseLedger, version: str) -> ShadowModel:
    """What ``start_shadow`` writes: the live release, same id, with ``version`` as its shadow."""
    ledger.publish(plan_shadow(ledger.current(), ref(version), cameras=("door",), frame_share=0.2))
    return ledger.current().shadow


@pytest.fixture
def ledger(tmp_path: Path) -> ReleaseLedger:
    return ReleaseLedger(LocalObjectStore(tmp_path / "store"))


def canary_release(ledger: ReleaseLedger) -> tuple[ReleaseManifest, ReleaseManifest]:
    """rel-1: m-v1 champion. rel-2: m-v2 as canary on cam-a."""
    first = plan_release(None, ref("m-v1"), release_id="rel-1")
    ledger.publish(first)
    second = plan_release(first, ref("m-v2"), release_id="rel-2", canary_cameras=("cam-a",))
    ledger.publish(second)
    return first, second


# ------------------------------------------------------------------------------------ promotion
def test_a_promotion_keeps_the_shadow(ledger: ReleaseLedger):
    canary_release(ledger)
    shadow = start_shadow(ledger, "m-v3")

    promoted = plan_promotion(ledger.current(), release_id="rel-3")
    assert promoted.champion.model_version == "m-v2" and promoted.canary is None
    assert promoted.shadow == shadow  # cameras, frame share and digest as the operator set them
    carried = carry_shadow(ledger.current(), promoted)
    assert carried.decision == KEPT and "carried over from release rel-2" in carried.reason


def test_a_promotion_of_the_shadow_model_drops_the_shadow(ledger: ReleaseLedger):
    canary_release(ledger)
    start_shadow(ledger, "m-v2")  # the canary's model, compared on the cameras outside the canary

    promoted = plan_promotion(ledger.current(), release_id="rel-3")
    assert promoted.champion.model_version == "m-v2" and promoted.shadow is None
    carried = carry_shadow(ledger.current(), promoted)
    assert carried.decision == DROPPED
    assert carried.reason == (
        "shadow m-v2 of release rel-2 dropped: it is the champion of release rel-3, and a model is not "
        "compared with itself"
    )
    assert carried.metadata() == {
        "shadow": "none",
        "shadow_decision": DROPPED,
        "shadow_reason": carried.reason,
    }


# ------------------------------------------------------------------------------------- rollback
def test_a_rollback_keeps_the_shadow_and_records_it_in_the_restored_history(ledger: ReleaseLedger):
    first, _ = canary_release(ledger)
    shadow = start_shadow(ledger, "m-v3")

    live, restored = plan_rollback(ledger)
    assert live.release_id == "rel-2" and restored.release_id == "rel-1"
    assert restored.shadow == shadow
    assert restored.champion == first.champion and restored.created_at == first.created_at
    ledger.restore(restored)
    assert ledger.current() == restored
    # the live manifest still equals its history entry: a later look-up of rel-1 sees the shadow
    assert ledger.get("rel-1") == restored
    assert ledger.store.get_bytes(MANIFEST_KEY) == restored.to_json().encode()


def test_a_rollback_to_the_shadow_model_drops_the_shadow(ledger: ReleaseLedger):
    first = plan_release(None, ref("m-v1"), release_id="rel-1")
    ledger.publish(first)
    ledger.publish(plan_release(first, ref("m-v2"), release_id="rel-2", promote=True))
    start_shadow(ledger, "m-v1")  # the former champion, beside m-v2

    live, restored = plan_rollback(ledger)
    assert restored == first  # m-v1 is the champion again: nothing left to compare it with
    carried = carry_shadow(live, restored)
    assert carried.decision == DROPPED and "it is the champion of release rel-1" in carried.reason
    ledger.restore(restored)
    assert ledger.get("rel-1") == first  # history untouched


def test_a_rollback_does_not_bring_back_a_shadow_the_live_release_no_longer_has(ledger: ReleaseLedger):
    first = plan_release(None, ref("m-v1"), release_id="rel-1")
    ledger.publish(first)
    start_shadow(ledger, "m-v3")
    ledger.publish(plan_release(ledger.current(), ref("m-v2"), release_id="rel-2", promote=True, shadow=None))

    live, restored = plan_rollback(ledger)
    assert live.shadow is None and restored.shadow is None
    carried = carry_shadow(live, restored)
    assert (carried.decision, carried.reason) == (NO_SHADOW, "release rel-2 has no shadow")
    ledger.restore(restored)
    assert ledger.current() == ledger.get("rel-1") == restored  # the stopped shadow stays stopped


def test_restore_refuses_a_release_changed_beyond_its_shadow(ledger: ReleaseLedger):
    first, _ = canary_release(ledger)
    changed = ReleaseManifest("rel-1", ref("m-v9"), created_at=first.created_at)
    with pytest.raises(ReleaseError, match=r"differs from its history entry releases/history/rel-1\.json"):
        ledger.restore(changed)
    assert ledger.current().release_id == "rel-2" and ledger.get("rel-1") == first


# -------------------------------------------------------------------------------- a new release
def test_a_new_release_of_another_model_keeps_the_shadow(ledger: ReleaseLedger):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    shadow = start_shadow(ledger, "m-v3")

    released = plan_release(ledger.current(), ref("m-v2"), release_id="rel-2", canary_percentage=10.0)
    assert released.canary.model_version == "m-v2" and released.shadow == shadow


@pytest.mark.parametrize(("promote", "role"), [(False, "canary"), (True, "champion")])
def test_a_new_release_of_the_shadow_model_graduates_it(ledger: ReleaseLedger, promote: bool, role: str):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    start_shadow(ledger, "m-v3")

    released = plan_release(
        ledger.current(), ref("m-v3"), release_id="rel-2", canary_percentage=10.0, promote=promote
    )
    assert released.shadow is None
    carried = carry_shadow(ledger.current(), released)
    assert carried.decision == DROPPED and f"it is the {role} of release rel-2" in carried.reason


def test_a_new_release_takes_the_shadow_its_caller_names(ledger: ReleaseLedger):
    ledger.publish(plan_release(None, ref("m-v1"), release_id="rel-1"))
    start_shadow(ledger, "m-v3")
    live = ledger.current()

    named = shadow_of("m-v4", "hall")
    released = plan_release(live, ref("m-v2"), release_id="rel-2", canary_percentage=10.0, shadow=named)
    assert released.shadow == named
    assert carry_shadow(live, released, named).decision == SET
    without = plan_release(live, ref("m-v2"), release_id="rel-2", canary_percentage=10.0, shadow=None)
    assert without.shadow is None and carry_shadow(live, without, None).decision == SET
    with pytest.raises(ReleaseError, match="m-v2 is the canary of release rel-2: a shadow of it"):
        plan_release(live, ref("m-v2"), release_id="rel-2", canary_percentage=10.0, shadow=shadow_of("m-v2"))


# ------------------------------------------------------- the workflow: what the outcome records
def register(registry: ModelRegistry, tmp_path: Path, model_version: str) -> None:
    weights = tmp_path / f"{model_version}.pt"
    weights.write_bytes(model_version.encode())
    with registry.run(f"train-{model_version}") as run_id:
        registry.log_artifact(run_id, weights, "model")
    registry.tag_model_version(registry.register(run_id).version, model_version)


def test_the_workflow_outcome_says_which_shadow_the_new_manifest_carries(
    mlflow_registry: ModelRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    ledger = ReleaseLedger(LocalObjectStore(tmp_path / "store"))
    workflow = ReleaseWorkflow(ledger, mlflow_registry)
    for version in ("m-v1", "m-v2", "m-v3"):
        register(mlflow_registry, tmp_path, version)
    first = workflow.release(ref("m-v1"), mlflow_run_id=None)
    assert first.metadata()["shadow"] == "none" and first.metadata()["shadow_decision"] == NO_SHADOW

    start_shadow(ledger, "m-v3")
    canary = workflow.release(ref("m-v2"), mlflow_run_id=None, canary_cameras=("cam-a",))
    assert canary.metadata()["shadow"] == "m-v3" and canary.metadata()["shadow_decision"] == KEPT
    promoted = workflow.promote(release_id="rel-p")
    assert promoted.manifest.shadow.model_version == "m-v3" and ledger.current() == promoted.manifest
    assert promoted.metadata()["shadow_decision"] == KEPT
    rolled_back = workflow.rollback(reason="degraded")
    assert rolled_back.manifest.release_id == canary.manifest.release_id
    assert rolled_back.metadata()["shadow"] == "m-v3" and ledger.current().shadow.model_version == "m-v3"

    with caplog.at_level(logging.WARNING, logger="maskops_assets.release.workflow"):
        graduated = workflow.release(ref("m-v3"), mlflow_run_id=None, promote=True)
    recorded = graduated.metadata()
    assert (recorded["shadow"], recorded["shadow_decision"]) == ("none", DROPPED)
    assert "it is the champion of release" in recorded["shadow_reason"]
    assert ledger.current().shadow is None
    assert [r.getMessage() for r in caplog.records] == [
        f"release {graduated.manifest.release_id}: {recorded['shadow_reason']}"
    ]


def test_the_promote_job_records_the_kept_shadow_on_the_release_asset(tmp_path: Path):
    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=(tmp_path / "artifacts").as_uri(),
    )
    store_resource = ObjectStoreResource(kind="local", root=str(tmp_path / "store"))
    ledger = ReleaseLedger(store_resource.open())
    registry = mlflow.registry()
    for version in ("m-v1", "m-v2"):
        register(registry, tmp_path, version)
    workflow = ReleaseWorkflow(ledger, registry)
    workflow.release(ref("m-v1"), mlflow_run_id=None)
    workflow.release(ref("m-v2"), mlflow_run_id=None, canary_cameras=("cam-a",))
    start_shadow(ledger, "m-v3")
    defs = dg.Definitions(
        jobs=release_defs.JOBS, resources={"mlflow": mlflow, "object_store": store_resource}
    )

    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("promote_canary").execute_in_process(instance=instance).success
        event = instance.get_latest_materialization_event(dg.AssetKey("deployment_release"))
    metadata = {key: value.value for key, value in event.asset_materialization.metadata.items()}
    assert metadata["shadow"] == "m-v3" and metadata["shadow_decision"] == KEPT
    assert metadata["manifest"]["shadow"]["cameras"] == ["door"]
    assert ledger.current().shadow.model_version == "m-v3"
