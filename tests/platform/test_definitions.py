"""The code location loads through Dagster's standard loader, whole, and every asset is described,
grouped, kinded and owned; resources read the deployment's environment at run time."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.definitions import PROJECT_ROOT, build_definitions, defs
from maskops_assets.resources import (
    DatasetRepoResource,
    LabelStudioResource,
    MlflowResource,
    ObjectStoreResource,
    RetrainPolicyResource,
    WorkDirResource,
)

DATA_ASSETS = {"collected_frames", "labeling_tasks", "reviewed_labels", "labeled_dataset"}
#: what the retraining job (maskops_main) materializes: everything upstream of the release
RETRAIN_ASSETS = (DATA_ASSETS - {"collected_frames"}) | {
    "trained_model",
    "model_evaluation",
    "deployment_release",
}
MONITORING_ASSETS = {"drift_report", "edge_fleet", "shadow_report"}
ASSETS = DATA_ASSETS | RETRAIN_ASSETS | MONITORING_ASSETS | {"canary_verdict"}
CHECKS = {
    "labeled_dataset:trainable",
    "model_evaluation:map50_gate",
    "model_evaluation:class_recall_gate",
    "model_evaluation:latency_gate",
    "model_evaluation:int8_gate",
    "edge_fleet:edge_fleet_cameras_reporting",
    "edge_fleet:edge_fleet_on_current_release",
}
JOBS = {
    "maskops_main",
    "ingest_job",
    "promote_canary",
    "rollback_release",
    "release_candidate",
    "drift_report_job",
    "edge_fleet_job",
    "start_shadow",
    "stop_shadow",
    "shadow_report_job",
}
SENSORS = {
    "new_samples_sensor",
    "review_sync_sensor",
    "label_threshold_sensor",
    "drift_sensor",
    "canary_watch_sensor",
}
SCHEDULES = {"weekly_retrain", "drift_report_hourly", "edge_fleet_schedule", "shadow_report_hourly"}
RESOURCES = {"object_store", "mlflow", "dataset_repo", "work_dir", "label_studio", "retrain_policy"}


@pytest.fixture(scope="module")
def loaded() -> dg.Definitions:
    return defs()


def _contents(definitions: dg.Definitions) -> dict[str, set[str]]:
    repo = definitions.get_repository_def()
    return {
        "assets": {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()},
        "checks": {key.to_user_string() for key in repo.asset_graph.asset_check_keys},
        "jobs": {job.name for job in repo.get_all_jobs() if not job.name.startswith("__")},
        "sensors": {sensor.name for sensor in repo.sensor_defs},
        "schedules": {schedule.name for schedule in repo.schedule_defs},
        "resources": set(definitions.resources or {}),
    }


EXPECTED = {
    "assets": ASSETS,
    "checks": CHECKS,
    "jobs": JOBS,
    "sensors": SENSORS,
    "schedules": SCHEDULES,
    "resources": RESOURCES,
}


def test_pyproject_names_the_defs_folder() -> None:
    import tomllib

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["dg"]
    assert project["directory_type"] == "project"
    assert project["project"]["root_module"] == "maskops_assets"
    assert project["project"]["defs_module"] == "maskops_assets.defs"
    assert project["project"]["code_location_target_module"] == "maskops_assets.definitions"


def test_standard_loader_finds_every_definition(loaded: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(loaded)
    assert _contents(loaded) == EXPECTED
    # the loader itself, as `dg`/`dagster dev` call it, finds the same
    assert _contents(dg.load_from_defs_folder(path_within_project=PROJECT_ROOT)) == EXPECTED


def test_workspace_attribute_is_the_lazy_definitions() -> None:
    from dagster._core.definitions.reconstruct import load_def_in_module, repository_def_from_target_def

    repo = repository_def_from_target_def(load_def_in_module("maskops_assets.definitions", "defs", None))
    assert {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()} == ASSETS
    assert {job.name for job in repo.get_all_jobs()} >= JOBS


def test_replaced_resources_keep_every_definition(tmp_path: Path) -> None:
    resources = {"object_store": ObjectStoreResource(kind="local", root=str(tmp_path)), **_other_resources()}
    built = build_definitions(resources)
    assert _contents(built) == EXPECTED
    assert built.resources["object_store"] is resources["object_store"]


def _other_resources() -> dict:
    return {
        "mlflow": MlflowResource(),
        "dataset_repo": DatasetRepoResource(),
        "work_dir": WorkDirResource(),
        "label_studio": LabelStudioResource(),
        "retrain_policy": RetrainPolicyResource(),
    }


def test_missing_defs_module_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A defs module that cannot be imported (here: gone, as after a rename that left a stale
    reference) fails the load; it is never skipped with a warning."""
    monkeypatch.setitem(sys.modules, "maskops_assets.defs.training", None)
    with pytest.raises(ModuleNotFoundError, match=r"maskops_assets\.defs\.training"):
        defs()


def test_defs_module_with_a_broken_import_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A defs module whose own import of a (renamed) module fails makes the load fail too."""
    monkeypatch.delitem(sys.modules, "maskops_assets.defs.evaluation")
    monkeypatch.setitem(sys.modules, "maskops_assets.evaluation.report", None)
    with pytest.raises(ModuleNotFoundError, match=r"maskops_assets\.evaluation\.report"):
        defs()


def test_every_asset_is_described_grouped_kinded_and_owned(loaded: dg.Definitions) -> None:
    for node in loaded.resolve_asset_graph().asset_nodes:
        name = node.key.to_user_string()
        assert node.description, f"{name} has no description"
        assert node.group_name and node.group_name != "default", f"{name} has no group"
        assert node.kinds, f"{name} has no kinds"
        assert node.owners == ["team:maskops"], f"{name} has no owner"
    graph = loaded.resolve_asset_graph()
    data = {n.key.to_user_string() for n in graph.asset_nodes if n.group_name == "data"}
    assert data == DATA_ASSETS


def test_main_job_is_the_retraining_path(loaded: dg.Definitions) -> None:
    """maskops_main (what every trigger launches) runs labels -> dataset -> model -> gate -> release;
    the partitioned ingest, the monitoring assets and the canary verdict have their own jobs."""
    job = loaded.resolve_job_def("maskops_main")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert selected == RETRAIN_ASSETS


def test_environment_configures_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASKOPS_STORE_KIND", "s3")
    monkeypatch.setenv("MASKOPS_STORE_BUCKET", "camera-uploads")
    monkeypatch.setenv("MASKOPS_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.delenv("MASKOPS_STORE_PREFIX", raising=False)
    resource = build_definitions().resources["object_store"]
    assert isinstance(resource.kind, dg.EnvVar) and resource.kind.env_var_name == "MASKOPS_STORE_KIND"
    assert isinstance(resource.bucket, dg.EnvVar)
    assert resource.bucket.get_value() == "camera-uploads"
    assert resource.prefix == ""  # unset: read when used, never frozen at load


@dg.asset
def where_things_are(object_store: ObjectStoreResource, work_dir: WorkDirResource, mlflow: MlflowResource):
    return {
        "store": str(object_store.open().root),
        "work": str(work_dir.base()),
        "mlflow_ui": mlflow.ui_base(),
    }


def test_environment_is_read_at_run_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dagster_instance
) -> None:
    """Settings changed after the definitions loaded are what a run uses: a variable set at load
    time (passed as dg.EnvVar) and one that was unset then (read when the resource is used)."""
    monkeypatch.setenv("MASKOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MASKOPS_WORK_DIR", str(tmp_path / "work-at-load"))
    for name in ("MASKOPS_STORE_KIND", "MASKOPS_STORE_ROOT", "MASKOPS_STORE_PREFIX", "MASKOPS_MLFLOW_UI_URL"):
        monkeypatch.delenv(name, raising=False)
    resources = build_definitions().resources
    assert isinstance(resources["work_dir"].root, dg.EnvVar)

    def run() -> dict:
        result = dg.materialize([where_things_are], resources=resources, instance=dagster_instance)
        assert result.success
        return result.output_for_node("where_things_are")

    assert run() == {
        "store": str(tmp_path / "home" / "store"),
        "work": str(tmp_path / "work-at-load"),
        "mlflow_ui": "http://127.0.0.1:5000",
    }
    monkeypatch.setenv("MASKOPS_WORK_DIR", str(tmp_path / "work-at-run"))
    monkeypatch.setenv("MASKOPS_STORE_ROOT", str(tmp_path / "store-at-run"))
    monkeypatch.setenv("MASKOPS_MLFLOW_UI_URL", "http://mlflow.example:5000/")
    assert run() == {
        "store": str(tmp_path / "store-at-run"),
        "work": str(tmp_path / "work-at-run"),
        "mlflow_ui": "http://mlflow.example:5000",
    }


def test_bad_store_kind_is_named() -> None:
    with pytest.raises(ValueError, match="MASKOPS_STORE_KIND"):
        ObjectStoreResource(kind="ftp").open()
