"""Rollback restores the previous manifest and the MLflow aliases in one step (plain and as a job);
every change of the live manifest made by a job is a materialization of ``deployment_release``."""

from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.constants import TRIGGER_REASON_TAG, TRIGGER_TAG
from maskops_assets.defs import release as release_defs
from maskops_assets.release.aliases import sync_aliases
from maskops_assets.release.ledger import ReleaseError, ReleaseLedger, plan_release, plan_rollback
from maskops_assets.resources import MlflowResource, ObjectStoreResource
from maskops_assets.store import LocalObjectStore
from maskops_assets.tracking.registry import CHALLENGER, CHAMPION, ModelRegistry
from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest


def latest_release_metadata(instance: dg.DagsterInstance) -> dict:
    """What the asset page of deployment_release shows: its latest materialization's metadata."""
    event = instance.get_latest_materialization_event(dg.AssetKey("deployment_release"))
    assert event is not None, "no materialization of deployment_release recorded"
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def register(registry: ModelRegistry, tmp_path: Path, model_version: str) -> str:
    weights = tmp_path / f"{model_version}.pt"
    weights.write_bytes(model_version.encode())
    with registry.run(f"train-{model_version}") as run_id:
        registry.log_artifact(run_id, weights, "model")
    version = registry.register(run_id).version
    registry.tag_model_version(version, model_version)
    return version


def two_releases(
    ledger: ReleaseLedger, registry: ModelRegistry, tmp_path: Path
) -> tuple[ReleaseManifest, ...]:
    """Release 1: m-v1 champion. Release 2: m-v2 as a canary on cam-a. Aliases follow each."""
    for version in ("m-v1", "m-v2"):
        register(registry, tmp_path, version)
    first = plan_release(None, ModelRef("m-v1", "models/m-v1/model.onnx", "1" * 64), release_id="rel-1")
    ledger.publish(first)
    sync_aliases(registry, first)
    second = plan_release(
        ledger.current(),
        ModelRef("m-v2", "models/m-v2/model.onnx", "2" * 64),
        release_id="rel-2",
        canary_cameras=("cam-a",),
    )
    ledger.publish(second)
    sync_aliases(registry, second)
    return first, second


def test_rollback_restores_manifest_and_aliases(mlflow_registry: ModelRegistry, tmp_path: Path):
    ledger = ReleaseLedger(LocalObjectStore(tmp_path / "store"))
    first, second = two_releases(ledger, mlflow_registry, tmp_path)
    assert mlflow_registry.alias_version(CHALLENGER).model_version == "m-v2"

    live, restored = plan_rollback(ledger)
    assert (live, restored) == (second, first)
    ledger.restore(restored)
    sync_aliases(mlflow_registry, restored)

    assert ledger.current() == first
    assert ledger.store.get_bytes(MANIFEST_KEY) == first.to_json().encode()
    assert mlflow_registry.alias_version(CHAMPION).model_version == "m-v1"
    assert mlflow_registry.alias_version(CHALLENGER) is None
    assert sorted(ledger.release_ids()) == ["rel-1", "rel-2"]  # history keeps the rolled-back release


def test_rollback_of_the_first_release_is_refused(tmp_path: Path):
    ledger = ReleaseLedger(LocalObjectStore(tmp_path / "store"))
    with pytest.raises(ReleaseError, match="nothing to roll back"):
        plan_rollback(ledger)
    ledger.publish(
        plan_release(None, ModelRef("m-v1", "models/m-v1/model.onnx", "1" * 64), release_id="rel-1")
    )
    with pytest.raises(ReleaseError, match="first release"):
        plan_rollback(ledger)


def test_rollback_job_on_a_real_instance(tmp_path: Path):
    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=(tmp_path / "artifacts").as_uri(),
    )
    store_resource = ObjectStoreResource(kind="local", root=str(tmp_path / "store"))
    registry = mlflow.registry()
    ledger = ReleaseLedger(store_resource.open())
    first, _ = two_releases(ledger, registry, tmp_path)
    defs = dg.Definitions(
        jobs=release_defs.JOBS, resources={"mlflow": mlflow, "object_store": store_resource}
    )

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("rollback_release").execute_in_process(
            instance=instance, tags={TRIGGER_TAG: "canary_watch", TRIGGER_REASON_TAG: "degraded"}
        )
        recorded = latest_release_metadata(instance)
        again = defs.resolve_job_def("rollback_release").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert latest_release_metadata(instance) == recorded  # a refused rollback changes nothing
    assert result.success
    # the asset's page (and GraphQL) show the live manifest, not the rolled-back release
    assert recorded["release_id"] == "rel-1" and recorded["rolled_back_from"] == "rel-2"
    assert recorded["canary"] == "none" and recorded["challenger_alias_version"] == "none"
    assert recorded["manifest"] == first.to_dict() and recorded["action"] == "rollback"
    assert recorded["triggered_by"] == "canary_watch" and recorded["trigger_reason"] == "degraded"
    withdrawn_run = registry.find_by_model_version("m-v2").run_id
    assert registry.client.get_run(withdrawn_run).data.tags["maskops.rolled_back_in"] == "rel-2"
    assert result.output_for_node("rollback_release_op") == "rel-1"
    assert ledger.current() == first
    assert registry.alias_version(CHAMPION).model_version == "m-v1"
    assert registry.alias_version(CHALLENGER) is None

    assert not again.success
    failure = next(e for e in again.all_events if e.is_step_failure)
    assert "first release" in failure.step_failure_data.user_failure_data.description
    assert ledger.current() == first


def test_promote_job_makes_the_canary_champion(tmp_path: Path):
    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=(tmp_path / "artifacts").as_uri(),
    )
    store_resource = ObjectStoreResource(kind="local", root=str(tmp_path / "store"))
    registry = mlflow.registry()
    ledger = ReleaseLedger(store_resource.open())
    two_releases(ledger, registry, tmp_path)
    defs = dg.Definitions(
        jobs=release_defs.JOBS, resources={"mlflow": mlflow, "object_store": store_resource}
    )

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("promote_canary").execute_in_process(instance=instance)
        recorded = latest_release_metadata(instance)
    assert result.success
    live = ledger.current()
    assert recorded["release_id"] == live.release_id and recorded["champion"] == "m-v2"
    assert recorded["canary"] == "none" and recorded["triggered_by"] == "a person (launched by hand)"
    assert (
        live.champion.model_version == "m-v2" and live.canary is None and live.previous_release_id == "rel-2"
    )
    assert registry.alias_version(CHAMPION).model_version == "m-v2"
    assert registry.alias_version(CHALLENGER) is None
