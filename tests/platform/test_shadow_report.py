"""Shadow mode upstream: ``shadow_report`` sums the cameras' shadow comparisons per camera (with a
picture and a markdown table), and ``start_shadow`` / ``stop_shadow`` put a published candidate
into the live manifest as its shadow and take it out, the release otherwise unchanged;
``shadow_report_hourly`` refreshes the report every hour.

The comparisons are written exactly as an agent writes them (``edge_agent.telemetry``'s encoder
under ``shadow_key``), with figures chosen by hand, so every verdict is known by construction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from edge_agent.telemetry import shadow_rows_to_parquet
from maskops_assets.defs.shadow import shadow_report, start_shadow, stop_shadow
from maskops_assets.release.ledger import ReleaseError, ReleaseLedger
from maskops_assets.release.shadow import plan_shadow, published_model_ref
from maskops_assets.release.shadow import start_shadow as put_shadow
from maskops_assets.resources import ObjectStoreResource, WorkDirResource
from maskops_assets.shadow.report import LATEST_KEY, NO_COMPARISONS, OK, run_shadow_report
from maskops_assets.store import LocalObjectStore
from maskops_contracts import ModelRef, ReleaseManifest, model_key
from maskops_contracts.keys import shadow_key
from maskops_contracts.telemetry import ShadowRow

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def comparison(camera: str, minutes_ago: float, *, swapped: bool, dropped: int = 0) -> ShadowRow:
    """One face found by both models: the same class, or with_mask called without_mask."""
    return ShadowRow(
        camera_id=camera,
        ts=NOW - timedelta(minutes=minutes_ago),
        model_version="v1",
        shadow_model_version="v2",
        champion_boxes=2,
        shadow_boxes=1,
        matched=1,
        class_agreed=0 if swapped else 1,
        champion_only=1,
        shadow_only=0,
        mean_confidence_delta=-0.2,
        class_mismatches={"with_mask": 1} if swapped else {},
        dropped_before=dropped,
    )


def put_rows(store: LocalObjectStore, rows: list[ShadowRow], batch: str) -> None:
    key = shadow_key(rows[0].camera_id, rows[0].ts, batch)
    store.put_bytes(key, shadow_rows_to_parquet(rows), "application/vnd.apache.parquet")


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


def test_the_report_shows_agreement_per_camera_and_stores_a_picture(store: LocalObjectStore):
    put_rows(store, [comparison("door", m, swapped=False, dropped=1) for m in (10, 20, 30)], "b1")
    put_rows(store, [comparison("hall", m, swapped=True) for m in (5, 15)], "b2")
    put_rows(store, [comparison("hall", 60 * 30, swapped=True)], "old")  # outside the window
    outcome = run_shadow_report(store, window_hours=24, now=NOW)
    assert outcome.status == OK and outcome.frames_compared == 5
    door, hall = outcome.cameras
    assert (door.camera_id, door.frames_compared, door.frames_dropped) == ("door", 3, 3)
    assert (door.matched, door.class_agreed, door.champion_only, door.shadow_only) == (3, 3, 3, 0)
    assert door.agreement == pytest.approx(3 / 6) and door.class_agreement == 1.0
    assert door.mean_confidence_delta == pytest.approx(-0.2)
    assert (hall.camera_id, hall.frames_compared, hall.class_agreed) == ("hall", 2, 0)
    assert hall.agreement == 0.0 and hall.class_mismatches["with_mask"] == 2
    assert outcome.picture.startswith(b"\x89PNG") and store.get_bytes(outcome.picture_key) == outcome.picture
    latest = json.loads(store.get_bytes(LATEST_KEY))
    assert [c["camera_id"] for c in latest["cameras"]] == ["door", "hall"]
    assert latest["cameras"][1]["class_mismatches"]["with_mask"] == 2


def test_no_comparisons_is_a_status_not_a_failure(store: LocalObjectStore):
    outcome = run_shadow_report(store, window_hours=1, now=NOW)
    assert outcome.status == NO_COMPARISONS and "start_shadow" in outcome.message
    assert not store.exists(LATEST_KEY)


def test_the_asset_materializes_with_a_table_and_a_picture(
    store: LocalObjectStore, tmp_path, dagster_instance
):
    now = datetime.now(UTC)
    rows = [dataclass_at(comparison("door", 0, swapped=True), now - timedelta(minutes=1))]
    put_rows(store, rows, "b1")
    result = dg.materialize(
        [shadow_report],
        resources={
            "object_store": ObjectStoreResource(kind="local", root=str(store.base)),
            "work_dir": WorkDirResource(root=str(tmp_path / "work")),
        },
        instance=dagster_instance,
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("shadow_report")
    meta = materialization.metadata
    assert meta["status"].value == OK and meta["frames_compared"].value == 1
    assert meta["agreement_door"].value == 0.0
    assert "| door | v2 | 1 |" in meta["cameras"].value and "with_mask: 1" in meta["cameras"].value
    assert Path(meta["picture"].value).read_bytes().startswith(b"\x89PNG")


def dataclass_at(row: ShadowRow, ts: datetime) -> ShadowRow:
    import dataclasses

    return dataclasses.replace(row, ts=ts)


# ---------------------------------------------------------------- start_shadow / stop_shadow
def publish(store: LocalObjectStore, version: str, data: bytes) -> ModelRef:
    store.put_bytes(model_key(version, "model.onnx"), data)
    metadata = {
        "model_version": version,
        "imgsz": 64,
        "class_names": ["with_mask", "without_mask", "mask_weared_incorrect"],
    }
    store.put_bytes(model_key(version, "metadata.json"), json.dumps(metadata).encode())
    return ModelRef(version, model_key(version), hashlib.sha256(data).hexdigest(), imgsz=64)


@pytest.fixture
def live(store: LocalObjectStore) -> ReleaseLedger:
    ledger = ReleaseLedger(store)
    ledger.publish(ReleaseManifest("rel-1", publish(store, "v1", b"champion bytes")))
    publish(store, "v2", b"candidate bytes")
    return ledger


def test_start_and_stop_shadow_jobs_change_only_the_shadow(live: ReleaseLedger, store, dagster_instance):
    before = live.current()
    resources = {"object_store": ObjectStoreResource(kind="local", root=str(store.base))}
    config = {
        "ops": {
            "start_shadow_op": {"config": {"model_version": "v2", "cameras": ["door"], "frame_share": 0.2}}
        }
    }
    assert start_shadow.execute_in_process(
        run_config=config, resources=resources, instance=dagster_instance
    ).success
    started = live.current()
    assert started.shadow is not None and started.shadow.cameras == ("door",)
    assert started.shadow.frame_share == 0.2
    assert started.shadow.sha256 == hashlib.sha256(b"candidate bytes").hexdigest()
    assert started.shadow_for("door") is not None and started.shadow_for("hall") is None
    # the release is the same release: same id, champion, canary and rollback target
    assert (started.release_id, started.champion, started.canary) == (
        before.release_id,
        before.champion,
        None,
    )
    assert live.get("rel-1") == started  # history holds what is live
    assert stop_shadow.execute_in_process(resources=resources, instance=dagster_instance).success
    assert live.current().shadow is None and live.current().champion == before.champion
    # stopping twice changes nothing and does not fail
    assert stop_shadow.execute_in_process(resources=resources, instance=dagster_instance).success


def test_a_shadow_needs_a_published_model_a_live_release_and_cameras(live: ReleaseLedger, store):
    with pytest.raises(ReleaseError, match="not published"):
        put_shadow(live, "v9", cameras=("door",))
    with pytest.raises(ReleaseError, match="compare the model with itself"):
        put_shadow(live, "v1", cameras=("door",))
    with pytest.raises(ReleaseError, match="a shadow needs a list of cameras or a percentage"):
        put_shadow(live, "v2")
    with pytest.raises(ReleaseError, match="no live release"):
        plan_shadow(None, published_model_ref(live, "v2"), cameras=("door",))
    assert live.current().shadow is None  # nothing was written by a refused start
    manifest = put_shadow(live, "v2", percentage=25.0)
    assert manifest.shadow.percentage == 25.0 and manifest.shadow.frame_share == 0.10


def test_the_start_job_fails_with_the_reason(live: ReleaseLedger, store, dagster_instance):
    resources = {"object_store": ObjectStoreResource(kind="local", root=str(store.base))}
    config = {"ops": {"start_shadow_op": {"config": {"model_version": "v9", "cameras": ["door"]}}}}
    result = start_shadow.execute_in_process(
        run_config=config, resources=resources, instance=dagster_instance, raise_on_error=False
    )
    assert not result.success
    assert live.current().shadow is None


# ---------------------------------------------------------------------------- the hourly schedule
def test_the_code_location_refreshes_the_shadow_report_hourly_by_default():
    from maskops_assets.definitions import defs

    # under an instance of its own: loading definitions reads the current instance's state storage,
    # which an earlier test may have left behind disposed (tests/demo/test_settings.py)
    with dg.instance_for_test():
        repo = defs().get_repository_def()
    schedule = repo.get_schedule_def("shadow_report_hourly")
    assert schedule.cron_schedule == "25 * * * *" and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "shadow_report_job"
    job = repo.get_job("shadow_report_job")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {"shadow_report"}
