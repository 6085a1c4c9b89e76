"""The model-side assets on a real Dagster instance, MLflow (SQLite) and a local object store.

One flow, in order: a first release (candidate becomes champion, aliases set); a release without
approval fails with instructions and ships nothing; a deliberately worse candidate (one epoch from
scratch on 20% of the images) is stopped by the blocking gate check and never reaches the manifest.
The upstream ``labeled_dataset`` is a stand-in asset that points at generated data.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.defs import evaluation as evaluation_defs
from maskops_assets.defs import release as release_defs
from maskops_assets.defs import training as training_defs
from maskops_assets.lineage import LabeledDatasetVersion
from maskops_assets.resources import MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.store import LocalObjectStore
from maskops_assets.tracking.registry import CHALLENGER, CHAMPION
from maskops_contracts import MANIFEST_KEY, ReleaseManifest

pytestmark = pytest.mark.slow

EVAL_CONFIG = {"latency_budget_ms": 10_000.0, "shifted_images": 6, "latency_runs": 3, "min_map50": 0.0}


def build_defs(data_yaml: Path, root: Path) -> dg.Definitions:
    @dg.asset(name="labeled_dataset", group_name="data")
    def labeled_dataset() -> LabeledDatasetVersion:
        return LabeledDatasetVersion(
            version="ds-test-v1",
            git_rev="abc123",
            dvc_md5="d41d8",
            data_yaml=str(data_yaml),
            sample_batches=["batch-0001"],
        )

    return dg.Definitions(
        assets=[labeled_dataset, *training_defs.ASSETS, *evaluation_defs.ASSETS, *release_defs.ASSETS],
        asset_checks=evaluation_defs.CHECKS,
        jobs=release_defs.JOBS,
        resources={
            "mlflow": MlflowResource(
                tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
                artifact_location=(root / "mlflow_artifacts").as_uri(),
                ui_url="http://127.0.0.1:5000",
            ),
            "object_store": ObjectStoreResource(kind="local", root=str(root / "store")),
            "work_dir": WorkDirResource(root=str(root / "work")),
        },
    )


def run_config(train: dict, release: dict, evaluation: dict | None = None) -> dict:
    return {
        "ops": {
            "trained_model": {"config": {"train": train}},
            "model_evaluation": {"config": {**EVAL_CONFIG, **(evaluation or {})}},
            "deployment_release": {"config": release},
        }
    }


@pytest.fixture(scope="module")
def platform(tiny_data_yaml, tiny_models, tiny_train, tmp_path_factory):
    root = tmp_path_factory.mktemp("platform")
    defs = build_defs(tiny_data_yaml, root)
    with dg.instance_for_test() as instance:
        yield {
            "defs": defs,
            "instance": instance,
            "store": LocalObjectStore(root / "store"),
            "registry": defs.resources["mlflow"].registry(),
            "good_weights": str(tiny_models["good"].weights),
            "tiny_train": tiny_train,
        }


def execute(platform, config: dict, selection=None) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("model_side", selection=selection)
    defs = dg.Definitions.merge(platform["defs"], dg.Definitions(jobs=[job]))
    return defs.resolve_job_def("model_side").execute_in_process(
        run_config=config, instance=platform["instance"], raise_on_error=False
    )


def manifest(platform) -> ReleaseManifest | None:
    store = platform["store"]
    return ReleaseManifest.from_json(store.get_bytes(MANIFEST_KEY)) if store.exists(MANIFEST_KEY) else None


@pytest.fixture(scope="module")
def first_release(platform):
    # a champion worth keeping: the well-trained tiny model, fine-tuned one epoch at a tiny learning rate
    train = {**platform["tiny_train"], "model": platform["good_weights"], "epochs": 1, "lr0": 0.0001}
    result = execute(platform, run_config(train, {"approved_by": "alice"}))
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    return result


def test_first_release_ships_the_candidate_as_champion(platform, first_release):
    live = manifest(platform)
    assert live is not None and live.canary is None and live.previous_release_id is None
    version = live.champion.model_version
    store = platform["store"]
    for name in ("model.onnx", "model.pt", "metadata.json"):
        assert store.exists(f"models/{version}/{name}")
    metadata = json.loads(store.get_bytes(f"models/{version}/metadata.json"))
    assert metadata["onnx_sha256"] == live.champion.sha256
    # the manifest pins the published bytes themselves, and the classes the model was trained with
    assert hashlib.sha256(store.get_bytes(f"models/{version}/model.onnx")).hexdigest() == live.champion.sha256
    assert list(live.champion.class_names) == metadata["class_names"]
    assert metadata["lineage"]["dataset_version"] == "ds-test-v1"
    assert metadata["lineage"]["sample_batches"] == ["batch-0001"]
    registry = platform["registry"]
    champion = registry.alias_version(CHAMPION)
    assert champion.model_version == version and registry.alias_version(CHALLENGER) is None


def test_lineage_and_pictures_in_metadata(platform, first_release):
    def meta(asset: str) -> dict:
        event = platform["instance"].get_latest_materialization_event(dg.AssetKey(asset))
        return event.asset_materialization.metadata

    trained, evaluated, released = meta("trained_model"), meta("model_evaluation"), meta("deployment_release")
    run_id = trained["mlflow_run_id"].value
    assert trained["dataset_version"].value == "ds-test-v1"
    assert run_id in trained["mlflow_run"].value and trained["mlflow_run"].value.startswith(
        "http://127.0.0.1:5000"
    )
    assert evaluated["model_version"].value == trained["model_version"].value
    assert "data:image/png;base64," in evaluated["confusion_matrix"].value
    assert "data:image/png;base64," in evaluated["pr_curve"].value
    assert "| test | with_mask |" in evaluated["per_class"].value
    assert evaluated["recent_data"].value.startswith("generated shifted domain")
    assert released["model_version"].value == trained["model_version"].value
    assert released["release_id"].value == manifest(platform).release_id
    assert released["sample_batches"].value == ["batch-0001"]
    assert released["approved_by"].value == "alice"
    run = platform["registry"].client.get_run(run_id)
    assert run.info.status == "FINISHED" and "map50" in run.data.metrics and "epochs" in run.data.params
    checks = [e for e in first_release.get_asset_check_evaluations()]
    assert {c.check_name for c in checks} == {"map50_gate", "class_recall_gate", "latency_gate"}
    assert all(c.passed for c in checks)


def test_release_without_approval_fails_with_instructions(platform, first_release):
    before = manifest(platform)
    result = execute(
        platform,
        {"ops": {"deployment_release": {"config": {"require_approval": True}}}},
        selection=["deployment_release"],
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "approved_by" in message and "launchpad" in message
    assert manifest(platform) == before


def test_worse_candidate_is_blocked_by_the_gate(platform, first_release):
    before = manifest(platform)
    champion_before = platform["registry"].alias_version(CHAMPION)
    bad_train = {**platform["tiny_train"], "epochs": 1, "fraction": 0.2}
    config = run_config(bad_train, {"approved_by": "alice"})
    # with a two-trial Optuna search in front, so the search wiring runs too (trials are as cheap)
    config["ops"]["trained_model"]["config"].update(search_trials=2, search_epochs_per_trial=1)
    result = execute(platform, config)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    map50 = checks["map50_gate"]
    champion_map50 = map50.metadata["champion"].value
    assert champion_map50 > 0.05, (
        f"test premise: the tiny champion must have learned something ({champion_map50})"
    )
    print(map50.description)
    assert not map50.passed, map50.description
    assert "exceeds the tolerance" in map50.description
    released = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("deployment_release")
    ]
    assert released == []
    assert manifest(platform) == before
    assert platform["registry"].alias_version(CHAMPION) == champion_before
    assert platform["registry"].alias_version(CHALLENGER) is None

    trained = platform["instance"].get_latest_materialization_event(dg.AssetKey("trained_model"))
    metadata = trained.asset_materialization.metadata
    assert [row["trial"] for row in metadata["search_trials"].value] == [0, 1]
    parent = metadata["mlflow_run_id"].value
    registry = platform["registry"]
    trials = registry.client.search_runs(
        [registry.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent}'"
    )
    assert sorted(r.info.run_name for r in trials) == ["trial-0", "trial-1"]

    # releasing the stored (failed) evaluation on its own is refused too: the gate is read again
    alone = execute(
        platform,
        {"ops": {"deployment_release": {"config": {"approved_by": "mallory"}}}},
        selection=["deployment_release"],
    )
    assert not alone.success
    assert manifest(platform) == before
