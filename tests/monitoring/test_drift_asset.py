"""``drift_report`` in a real Dagster instance, with the real resources: the champion found from the
release manifest, its dataset version checked out of a real git + DVC repository, the stored summary
the drift sensor reads, and the schedule that keeps it fresh."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from drift_builders import DATASET_VERSION, load_fake_detector, write_camera_telemetry

from maskops_assets.defs import monitoring
from maskops_assets.monitoring.drift_summary import read_latest
from maskops_assets.resources import (
    DatasetRepoResource,
    MlflowResource,
    ObjectStoreResource,
    WorkDirResource,
)
from maskops_assets.versioning.build import DATASET_DIR
from maskops_assets.versioning.dvc_repo import DatasetRepo

RUN_CONFIG = {"ops": {"drift_report": {"config": {"min_rows": 20, "min_rows_per_camera": 20}}}}


def _resources(home: Path) -> dict:
    return {
        "object_store": ObjectStoreResource(kind="local", root=str(home / "store")),
        "dataset_repo": DatasetRepoResource(
            repo_dir=str(home / "dataset_repo"), remote=str(home / "dvc_remote")
        ),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri()
        ),
        "work_dir": WorkDirResource(root=str(home / "work")),
    }


def _commit_dataset(home: Path, images: list[Path]) -> str:
    """The training images as dataset version 1 of a real git + DVC repository (YOLO layout)."""
    repo = DatasetRepo(home / "dataset_repo", str(home / "dvc_remote"))
    repo.ensure_initialised()
    root = repo.root / DATASET_DIR
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    for image in images:
        (root / "images" / "train" / image.name).write_bytes(image.read_bytes())
        (root / "labels" / "train" / f"{image.stem}.txt").write_text("")
    names = {0: "with_mask", 1: "without_mask", 2: "mask_weared_incorrect"}
    (root / "data.yaml").write_text(yaml.safe_dump({"train": "images/train", "names": names}))
    version = repo.commit(DATASET_DIR, "drift test dataset")
    return version.tag


@pytest.mark.slow
def test_drift_report_materializes_and_writes_what_the_sensor_reads(
    tmp_path, released, camera_frames, dagster_instance
):
    home = tmp_path
    resources = _resources(home)
    # the released fixture's store is <tmp_path>/store, the one the resource opens
    assert _commit_dataset(home, released.training_images) == DATASET_VERSION
    detector = load_fake_detector(released.onnx)
    write_camera_telemetry(released.store, "lobby-cam", camera_frames(False), detector)
    write_camera_telemetry(released.store, "yard-cam", camera_frames(True), detector)

    result = dg.materialize(
        [monitoring.drift_report], resources=resources, instance=dagster_instance, run_config=RUN_CONFIG
    )

    assert result.success
    metadata = result.asset_materializations_for_node("drift_report")[0].metadata
    summary = read_latest(released.store)
    assert metadata["status"].value == "ok"
    assert metadata["report_id"].value == summary.report_id
    assert metadata["drift_share"].value == pytest.approx(summary.drift_share)
    assert summary.drift_share >= summary.threshold
    assert summary.drifted_cameras == ("yard-cam",)
    assert metadata["score_brightness"].value == pytest.approx(summary.feature("brightness").score)
    assert metadata["dataset_version"].value == DATASET_VERSION
    html = Path(metadata["html_report"].value)
    assert html.is_file() and html == released.store.base / summary.html_key
    assert Path(metadata["picture"].value).read_bytes()[:4] == b"\x89PNG"
    assert "yard-cam" in metadata["cameras"].value


def test_without_a_release_it_materializes_with_a_status(tmp_path, dagster_instance):
    result = dg.materialize(
        [monitoring.drift_report], resources=_resources(tmp_path), instance=dagster_instance
    )

    assert result.success
    metadata = result.asset_materializations_for_node("drift_report")[0].metadata
    assert metadata["status"].value == "no reference yet"
    assert "no release yet" in metadata["message"].value
    assert "drift_share" not in metadata


def test_bad_config_fails_naming_the_setting(tmp_path, dagster_instance):
    config = {"ops": {"drift_report": {"config": {"stattest": "nope"}}}}
    with pytest.raises(dg.Failure, match="drift_report config: stattest 'nope'"):
        dg.materialize(
            [monitoring.drift_report],
            resources=_resources(tmp_path),
            instance=dagster_instance,
            run_config=config,
        )


def test_code_location_runs_the_drift_report_hourly_by_default():
    from maskops_assets.definitions import defs

    repo = defs().get_repository_def()
    schedule = repo.get_schedule_def("drift_report_hourly")
    assert schedule.cron_schedule == "0 * * * *" and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "drift_report_job"
    job = repo.get_job("drift_report_job")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {"drift_report"}
    assert repo.asset_graph.get(dg.AssetKey("drift_report")).group_name == "monitoring"
