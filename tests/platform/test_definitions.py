"""The code location loads, and every asset is described, grouped, kinded and owned."""

from __future__ import annotations

import dagster as dg

from maskops_assets.definitions import build_definitions, defs

DATA_ASSETS = {"collected_frames", "reviewed_labels", "labeled_dataset"}


def test_location_loads_with_all_resources() -> None:
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys >= DATA_ASSETS
    assert {"object_store", "mlflow", "dataset_repo", "work_dir"} <= set(defs.resources)
    assert defs.resolve_job_def("ingest_job") and defs.resolve_job_def("maskops_main")
    assert defs.resolve_sensor_def("new_samples_sensor")


def test_every_asset_is_described_grouped_kinded_and_owned() -> None:
    for node in defs.resolve_asset_graph().asset_nodes:
        name = node.key.to_user_string()
        assert node.description, f"{name} has no description"
        assert node.group_name and node.group_name != "default", f"{name} has no group"
        assert node.kinds, f"{name} has no kinds"
        assert node.owners, f"{name} has no owner"
    data = {n.key.to_user_string() for n in defs.resolve_asset_graph().asset_nodes if n.group_name == "data"}
    assert data == DATA_ASSETS


def test_main_job_leaves_the_partitioned_ingest_out() -> None:
    job = defs.resolve_job_def("maskops_main")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert "collected_frames" not in selected
    assert {"reviewed_labels", "labeled_dataset"} <= selected


def test_environment_configures_the_store(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MASKOPS_STORE_KIND", "s3")
    monkeypatch.setenv("MASKOPS_STORE_BUCKET", "camera-uploads")
    monkeypatch.setenv("MASKOPS_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    resource = build_definitions().resources["object_store"]
    assert resource.kind == "s3"
    assert isinstance(resource.bucket, dg.EnvVar)
    assert resource.bucket.get_value() == "camera-uploads"
