"""The release policy: ``auto`` ships a better candidate as canary and refuses one below
``min_improvement``; ``manual`` parks a gated candidate as ``@challenger`` with the approval step in
the asset's metadata, and ``release_candidate`` ships it on a person's word. No run fails or waits for
a person.

On a real Dagster instance (SQLite), MLflow (SQLite) and a local object store. ``model_evaluation`` is
a stand-in asset returning evaluations built from fixed numbers, so every verdict holds by
construction (no model is trained here: ``test_model_assets`` covers the trained path).
"""

from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.defs import release as release_defs
from maskops_assets.evaluation.gates import GatePolicy
from maskops_assets.evaluation.metrics import EvaluationResult
from maskops_assets.evaluation.report import TEST, ChampionRef, ModelEvaluation
from maskops_assets.lineage import TrainedModel
from maskops_assets.release.ledger import ReleaseLedger
from maskops_assets.release.policy import (
    AUTO,
    AWAIT_APPROVAL,
    BLOCKED,
    MANUAL,
    REFUSE,
    SHIP,
    PolicyError,
    ReleasePolicy,
    decide_release,
)
from maskops_assets.resources import MlflowResource, ObjectStoreResource
from maskops_assets.tracking.registry import CHALLENGER, CHAMPION, ModelRegistry


def result(map50: float, latency_ms: float | None = 5.0) -> EvaluationResult:
    return EvaluationResult(
        model="m",
        data_yaml="data.yaml",
        split=TEST,
        images=10,
        instances=20,
        map50=map50,
        map50_95=map50 / 2,
        precision=0.5,
        recall=0.5,
        per_class={},
        confusion_matrix=[],
        confusion_labels=[],
        pr_curve={},
        latency_ms=latency_ms,
    )


def evaluation(
    model_version: str,
    map50: float,
    champion_map50: float | None,
    *,
    run_id: str = "run",
    registered: str = "1",
    latency_ms: float | None = 5.0,
) -> ModelEvaluation:
    candidate = TrainedModel(
        model_version=model_version,
        mlflow_run_id=run_id,
        registered_version=registered,
        weights="w.pt",
        onnx="m.onnx",
        onnx_sha256=model_version[-1] * 64,
        dataset_version="dataset-v1",
        imgsz=96,
    )
    champion = {} if champion_map50 is None else {TEST: result(champion_map50)}
    return ModelEvaluation(
        candidate=candidate,
        policy=GatePolicy(max_map50_drop=0.02, min_map50=0.05),
        candidate_results={TEST: result(map50, latency_ms)},
        champion=None if champion_map50 is None else ChampionRef("1", "m-v1", "run-1"),
        champion_results=champion,
    )


# --- the decision, pure ----------------------------------------------------------------------------


def test_auto_ships_a_candidate_that_beats_the_champion_by_min_improvement():
    auto = ReleasePolicy(AUTO, 0.01)
    ship = decide_release(evaluation("m-v2", 0.62, 0.60), auto)
    assert ship.action == SHIP and ship.improvement == pytest.approx(0.02)
    assert decide_release(evaluation("m-v2", 0.61, 0.60), auto).action == SHIP  # exactly the minimum
    refused = decide_release(evaluation("m-v2", 0.605, 0.60), auto)
    assert refused.action == REFUSE and "below min_improvement 0.0100" in refused.reason
    # the gate still decides first: a 0.03 drop is over its 0.02 tolerance
    assert decide_release(evaluation("m-v2", 0.57, 0.60), auto).action == BLOCKED
    # a first release has nothing to beat
    assert decide_release(evaluation("m-v1", 0.30, None), auto).action == SHIP


def test_manual_waits_and_a_named_approval_ships_under_either_policy():
    manual = ReleasePolicy(MANUAL, 0.01)
    assert decide_release(evaluation("m-v2", 0.70, 0.60), manual).action == AWAIT_APPROVAL
    approved = decide_release(evaluation("m-v2", 0.60, 0.60), manual, approved_by="alice")
    assert approved.action == SHIP and "approved by alice" in approved.reason
    assert decide_release(evaluation("m-v2", 0.60, 0.60), ReleasePolicy(AUTO), "alice").action == SHIP
    # an approval never ships a candidate the gate stopped (latency not measured fails the gate)
    blocked = decide_release(evaluation("m-v2", 0.70, 0.60, latency_ms=None), manual, approved_by="alice")
    assert blocked.action == BLOCKED and "latency was not measured" in blocked.reason


def test_policy_settings_from_config_then_environment_then_defaults():
    assert ReleasePolicy.resolve(environ={}) == ReleasePolicy(MANUAL, 0.01)
    env = {"MASKOPS_RELEASE_POLICY": "AUTO", "MASKOPS_MIN_IMPROVEMENT": "0.03"}
    assert ReleasePolicy.resolve(environ=env) == ReleasePolicy(AUTO, 0.03)
    assert ReleasePolicy.resolve("manual", 0.0, environ=env) == ReleasePolicy(MANUAL, 0.0)
    with pytest.raises(PolicyError, match=r"\$MASKOPS_RELEASE_POLICY must be one of auto, manual"):
        ReleasePolicy.resolve(environ={"MASKOPS_RELEASE_POLICY": "sometimes"})
    with pytest.raises(PolicyError, match="release_policy must be one of"):
        ReleasePolicy.resolve("yes", environ={})
    with pytest.raises(PolicyError, match=r"\$MASKOPS_MIN_IMPROVEMENT must be a number"):
        ReleasePolicy.resolve(environ={"MASKOPS_MIN_IMPROVEMENT": "a lot"})


# --- the asset and jobs on a real instance -----------------------------------------------------------


def register(registry: ModelRegistry, tmp_path: Path, model_version: str) -> tuple[str, str]:
    """(run id, registry version) of a newly registered model tagged ``model_version``."""
    weights = tmp_path / f"{model_version}.pt"
    weights.write_bytes(model_version.encode())
    with registry.run(f"train-{model_version}") as run_id:
        registry.log_artifact(run_id, weights, "model")
    version = registry.register(run_id).version
    registry.tag_model_version(version, model_version)
    return run_id, version


@pytest.fixture
def platform(tmp_path: Path, dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MASKOPS_RELEASE_POLICY", raising=False)
    monkeypatch.delenv("MASKOPS_MIN_IMPROVEMENT", raising=False)
    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_location=(tmp_path / "artifacts").as_uri(),
    )
    store = ObjectStoreResource(kind="local", root=str(tmp_path / "store"))
    current: dict[str, ModelEvaluation] = {}

    @dg.asset(name="model_evaluation", group_name="model")
    def model_evaluation() -> ModelEvaluation:
        return current["evaluation"]

    defs = dg.Definitions(
        assets=[model_evaluation, *release_defs.ASSETS],
        jobs=[
            *release_defs.JOBS,
            *release_defs.ASSET_JOBS,
            dg.define_asset_job("retrain", selection=["model_evaluation", "deployment_release"]),
        ],
        resources={"mlflow": mlflow, "object_store": store},
    )
    registry = mlflow.registry()

    def candidate(model_version: str, map50: float, champion_map50: float | None) -> ModelEvaluation:
        run_id, version = register(registry, tmp_path, model_version)
        current["evaluation"] = evaluation(
            model_version, map50, champion_map50, run_id=run_id, registered=version
        )
        return current["evaluation"]

    def run(job: str, release_config: dict | None = None) -> dg.ExecuteInProcessResult:
        config = {"ops": {"deployment_release": {"config": release_config}}} if release_config else None
        return defs.resolve_job_def(job).execute_in_process(
            run_config=config, instance=dagster_instance, raise_on_error=False
        )

    def released() -> dict:
        event = dagster_instance.get_latest_materialization_event(dg.AssetKey("deployment_release"))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}

    ledger = ReleaseLedger(store.open())
    return {"candidate": candidate, "run": run, "released": released, "ledger": ledger, "registry": registry}


def test_auto_ships_a_better_candidate_as_canary_and_refuses_a_marginal_one(platform):
    auto = {"release_policy": "auto", "canary_cameras": ["cam-a"]}
    platform["candidate"]("m-v1", 0.60, None)
    assert platform["run"]("retrain", auto).success
    first = platform["ledger"].current()
    assert first.champion.model_version == "m-v1" and first.canary is None

    platform["candidate"]("m-v2", 0.65, 0.60)
    shipped = platform["run"]("retrain", auto)
    assert shipped.success
    live = platform["ledger"].current()
    assert live.canary.model_version == "m-v2" and live.canary.cameras == ("cam-a",)
    assert live.champion.model_version == "m-v1" and live.previous_release_id == first.release_id
    assert platform["registry"].alias_version(CHALLENGER).model_version == "m-v2"
    meta = platform["released"]()
    assert meta["decision"] == SHIP and meta["release_id"] == live.release_id and meta["canary"] == "m-v2"
    assert meta["improvement"] == pytest.approx(0.05) and meta["approved_by"] == "(release_policy auto)"
    tags = (
        platform["registry"].client.get_run(platform["registry"].alias_version(CHALLENGER).run_id).data.tags
    )
    assert tags["maskops.release_id"] == live.release_id

    platform["candidate"]("m-v3", 0.655, 0.65)  # +0.005: passes the gate, below min_improvement 0.01
    refused = platform["run"]("retrain", auto)
    assert refused.success  # a refusal is an outcome, not a failure
    assert platform["ledger"].current() == live
    meta = platform["released"]()
    assert meta["decision"] == REFUSE and "below min_improvement" in meta["decision_reason"]
    assert meta["release_id"] == live.release_id  # the asset still describes the live manifest
    assert platform["registry"].alias_version(CHALLENGER).model_version == "m-v2"


def test_manual_awaits_approval_and_release_candidate_ships_it(platform, monkeypatch):
    platform["candidate"]("m-v1", 0.60, None)
    assert platform["run"]("retrain", {"approved_by": "alice"}).success
    before = platform["ledger"].current()

    monkeypatch.setenv("MASKOPS_RELEASE_POLICY", "manual")  # the deployment's setting, read at run time
    platform["candidate"]("m-v2", 0.70, 0.60)
    waiting = platform["run"]("retrain", {"canary_percentage": 50.0})
    assert waiting.success  # nobody approved, and nothing failed or waits
    assert platform["ledger"].current() == before
    registry = platform["registry"]
    assert registry.alias_version(CHALLENGER).model_version == "m-v2"
    assert registry.alias_version(CHAMPION).model_version == "m-v1"
    meta = platform["released"]()
    assert meta["decision"] == AWAIT_APPROVAL and meta["release_state"].startswith("awaiting approval")
    assert "release_candidate" in meta["approve"] and "approved_by" in meta["approve"]
    assert meta["release_id"] == before.release_id

    # the approval job asks for a name rather than shipping anonymously
    anonymous = platform["run"]("release_candidate")
    assert not anonymous.success
    failure = anonymous.get_step_failure_events()[0]
    assert "set approved_by" in failure.step_failure_data.user_failure_data.description
    assert platform["ledger"].current() == before

    approved = platform["run"]("release_candidate", {"approved_by": "bob", "canary_percentage": 50.0})
    assert approved.success
    live = platform["ledger"].current()
    assert live.canary.model_version == "m-v2" and live.canary.percentage == 50.0
    meta = platform["released"]()
    assert meta["approved_by"] == "bob" and meta["release_id"] == live.release_id
    assert registry.alias_version(CHALLENGER).model_version == "m-v2"


def test_workflow_changes_nothing_it_cannot_finish(mlflow_registry: ModelRegistry, tmp_path: Path):
    """A model the registry does not know is refused before the manifest is written; a model that is
    already live is not parked for approval."""
    from maskops_assets.release.ledger import ReleaseError
    from maskops_assets.release.workflow import ReleaseWorkflow
    from maskops_assets.store import LocalObjectStore
    from maskops_contracts import ModelRef

    ledger = ReleaseLedger(LocalObjectStore(tmp_path / "store"))
    workflow = ReleaseWorkflow(ledger, mlflow_registry)
    run_id, version = register(mlflow_registry, tmp_path, "m-v1")
    first = workflow.release(ModelRef("m-v1", "models/m-v1/model.onnx", "1" * 64), mlflow_run_id=run_id)
    assert first.role == "champion" and ledger.current() == first.manifest
    assert mlflow_registry.alias_version(CHAMPION).version == version

    with pytest.raises(ReleaseError, match="m-v9 has no version of registered model"):
        workflow.release(
            ModelRef("m-v9", "models/m-v9/model.onnx", "9" * 64), mlflow_run_id=None, canary_percentage=10.0
        )
    assert ledger.current() == first.manifest and ledger.release_ids() == [first.manifest.release_id]
    with pytest.raises(ReleaseError, match="already live"):
        workflow.await_approval(model_version="m-v1", registered_version=version, mlflow_run_id=run_id)
    assert mlflow_registry.alias_version(CHALLENGER) is None


def test_the_release_asset_says_which_shadow_the_live_manifest_carries(platform):
    """An operator's shadow goes on through a release of another model, shows on a refusal, and
    graduates (is dropped, with the reason in the metadata) when its own model ships."""
    from maskops_assets.release.shadow import plan_shadow
    from maskops_contracts import ModelRef

    auto = {"release_policy": "auto", "canary_cameras": ["cam-a"]}
    platform["candidate"]("m-v1", 0.60, None)
    assert platform["run"]("retrain", auto).success
    ledger = platform["ledger"]
    shadow_ref = ModelRef("m-v9", "models/m-v9/model.onnx", "9" * 64)
    ledger.publish(plan_shadow(ledger.current(), shadow_ref, cameras=("door",)))  # as start_shadow

    platform["candidate"]("m-v2", 0.65, 0.60)
    assert platform["run"]("retrain", auto).success
    meta = platform["released"]()
    assert (meta["canary"], meta["shadow"], meta["shadow_decision"]) == ("m-v2", "m-v9", "kept")
    assert ledger.current().shadow.model_version == "m-v9"

    platform["candidate"]("m-v3", 0.655, 0.65)  # refused: the live manifest, shadow included, stays
    assert platform["run"]("retrain", auto).success
    meta = platform["released"]()
    assert (meta["decision"], meta["shadow"]) == (REFUSE, "m-v9")

    platform["candidate"]("m-v9", 0.70, 0.60)
    assert platform["run"]("retrain", auto).success
    meta = platform["released"]()
    assert (meta["canary"], meta["shadow"], meta["shadow_decision"]) == ("m-v9", "none", "dropped")
    assert "shadow m-v9 of release" in meta["shadow_reason"] and "it is the canary" in meta["shadow_reason"]
    assert ledger.current().shadow is None
