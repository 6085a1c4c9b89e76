"""The whole graph on generated data, followed by lineage; then a bad label batch changes nothing.

Tiny on purpose (40 base images at 96 px, 1 epoch): this proves the wiring and the lineage, not
the model; the gate floors are set to 0 so the weak model can ship.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.datasets.yolo import read_yolo
from maskops_assets.definitions import build_definitions
from maskops_assets.demo import DemoSettings, ingest, main_run_config
from maskops_assets.ingest.seeding import write_review_export
from maskops_assets.store import LocalObjectStore
from maskops_contracts import MANIFEST_KEY, ReleaseManifest

SETTINGS = DemoSettings(clip_frames=16, keep_every=2, base_images=40, imgsz=96, epochs=1, batch=8)


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    assert events, f"{asset} was not materialized"
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def _run_config(review_dir: Path) -> dict:
    config = main_run_config(review_dir, SETTINGS)
    config["ops"]["model_evaluation"] = {
        "config": {
            "min_map50": 0.0,
            "min_class_recall": 0.0,
            "latency_budget_ms": 10000.0,
            "latency_runs": 3,
            "shifted_images": 6,
        }
    }
    config["ops"]["deployment_release"] = {
        "config": {"approved_by": "e2e-test", "canary_cameras": ["cam-demo"]}
    }
    return config


@pytest.mark.slow
def test_graph_lineage_from_sample_batch_to_release(
    tmp_path: Path, dagster_instance: dg.DagsterInstance, data_resources
) -> None:
    home = tmp_path / "home"
    defs = build_definitions(data_resources(home))
    store = LocalObjectStore(home / "store")
    samples = ingest(defs, dagster_instance, store, tmp_path / "camera", SETTINGS)
    ingest_batches = dagster_instance.get_dynamic_partitions("ingest_batches")
    assert len(ingest_batches) == 1

    review = write_review_export(samples, tmp_path / "review")
    result = defs.resolve_job_def("maskops_main").execute_in_process(
        run_config=_run_config(review), instance=dagster_instance
    )
    assert result.success

    dataset = _metadata(result, "labeled_dataset")
    model = _metadata(result, "trained_model")
    release = _metadata(result, "deployment_release")
    assert dataset["sample_batches"] == ingest_batches
    assert model["dataset_version"] == dataset["dvc_version"] == "dataset-v1"
    assert model["sample_batches"] == ingest_batches
    assert release["model_version"] == model["model_version"]
    assert release["dataset_version"] == "dataset-v1"
    assert model["mlflow_run_id"] in release["mlflow_run"]
    manifest = ReleaseManifest.from_json(store.get_bytes(MANIFEST_KEY))
    assert manifest.release_id == release["release_id"]
    assert manifest.model_for("cam-demo").model_version == model["model_version"]

    # A bad annotation batch: rejected naming its files; nothing downstream runs; v1 stays usable.
    bad = write_review_export(samples[:3], tmp_path / "bad_review")
    broken = sorted((bad / "labels" / "train").glob("*.txt"))[0]
    broken.write_text("9 0.5 0.5 0.1 0.1\n")
    rejected = defs.resolve_job_def("maskops_main").execute_in_process(
        run_config=_run_config(bad), instance=dagster_instance, raise_on_error=False
    )
    assert not rejected.success
    failure = rejected.get_step_failure_events()[0]
    assert failure.step_key == "reviewed_labels"
    assert broken.name in failure.event_specific_data.error.message
    # only labeling_tasks (upstream of the labels; Label Studio is off here) ran; nothing from the
    # rejected labels down was materialized
    materialized = {e.asset_key.to_user_string() for e in rejected.get_asset_materialization_events()}
    assert materialized <= {"labeling_tasks"}
    assert ReleaseManifest.from_json(store.get_bytes(MANIFEST_KEY)).release_id == manifest.release_id
    repo = defs.resources["dataset_repo"].open()
    assert [v.tag for v in repo.versions()] == ["dataset-v1"]
    v1 = repo.checkout("dataset-v1") / "dataset"
    assert json.loads((v1 / "maskops.json").read_text())["sample_batches"] == ingest_batches
    assert len(read_yolo(v1 / "data.yaml").images) == SETTINGS.base_images + len(samples)
