"""``edge_fleet`` on real status objects in a real store, materialized in a real Dagster instance,
judged at an injected "now" so no verdict depends on the wall clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.defs import fleet as fleet_defs
from maskops_assets.fleet import build_fleet_report, read_agent_statuses
from maskops_assets.release.ledger import ReleaseLedger
from maskops_assets.resources import ObjectStoreResource, WorkDirResource
from maskops_assets.store import LocalObjectStore
from maskops_contracts import (
    AgentStatus,
    CameraStatus,
    CanaryModel,
    ModelRef,
    OutboxStatus,
    ReleaseManifest,
    agent_status_key,
    model_key,
)
from maskops_contracts.status import CameraShadowStatus

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def ref(version: str) -> ModelRef:
    return ModelRef(version, model_key(version), hashlib.sha256(version.encode()).hexdigest(), imgsz=64)


def live_release() -> ReleaseManifest:
    """r2: champion v1 everywhere, canary v2 on the camera ``hall``."""
    return ReleaseManifest(
        release_id="r2",
        champion=ref("v1"),
        canary=CanaryModel(**ref("v2").__dict__, cameras=("hall",)),
        created_at=NOW - timedelta(days=1),
        previous_release_id="r1",
    )


def camera(camera_id: str, model: str, release: str = "r2", **fields) -> CameraStatus:
    defaults = {"state": "running", "analysed_fps": 5.0, "last_frame_age_s": 0.4, "samples_kept_last_hour": 3}
    return CameraStatus(
        camera_id=camera_id, model_version=model, release_id=release, **{**defaults, **fields}
    )


def status(
    agent_id: str, seen_ago_s: float, *cameras: CameraStatus, release: str = "r2", **fields
) -> AgentStatus:
    return AgentStatus(
        agent_id=agent_id,
        sent_at=NOW - timedelta(seconds=seen_ago_s),
        cameras=cameras,
        manifest_release_id=release,
        status_interval_s=60.0,
        **fields,
    )


#: door compares v3 with its own model on a tenth of its frames
DOOR_SHADOW = CameraShadowStatus(
    model_version="v3",
    frame_share=0.1,
    frames_offered=1210,
    frames_compared=1200,
    frames_dropped=10,
    boxes_matched=800,
    class_agreed=780,
    champion_only=15,
    shadow_only=5,
    agreement=0.975,
    mean_confidence_delta=0.01,
)


def healthy_agent() -> AgentStatus:
    return status(
        "box-a",
        45,
        camera("door", "v1", canary=False, shadow=DOOR_SHADOW),
        camera("hall", "v2", canary=True, analysed_fps=4.5),
        outbox=OutboxStatus(depth={"sample": 2, "telemetry": 0}, dropped={"sample": 1, "telemetry": 0}),
    )


def silent_agent() -> AgentStatus:
    """Its last status is 20 minutes old."""
    return status("box-b", 20 * 60, camera("lobby", "v1"))


def stale_agent() -> AgentStatus:
    """Fresh heartbeat, but on release r1 still (refused v1 of r2), and camera yard has had no frame
    for 15 minutes while its disabled camera is not judged at all."""
    return status(
        "box-c",
        30,
        camera("gate", "v0", release="r1", refused=None),
        camera(
            "yard", "v0", release="r1", state="stalled", last_frame_age_s=900.0, last_error="rtsp timeout"
        ),
        CameraStatus(camera_id="spare", state="disabled"),
        release="r1",
        errors=("camera yard is stalled: rtsp timeout",),
    )


def put(store: LocalObjectStore, *statuses: AgentStatus) -> None:
    for s in statuses:
        store.put_bytes(agent_status_key(s.agent_id), s.to_json().encode(), "application/json")


def materialize(tmp_path: Path, instance, **config) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [fleet_defs.edge_fleet],
        instance=instance,
        resources={
            "object_store": ObjectStoreResource(kind="local", root=str(tmp_path / "store")),
            "work_dir": WorkDirResource(root=str(tmp_path / "work")),
        },
        run_config={"ops": {"edge_fleet": {"config": {"now": "2026-11-30T12:00:00Z", **config}}}},
    )


def verdicts(result: dg.ExecuteInProcessResult) -> dict:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.get_asset_materialization_events()
    return event.materialization.metadata


def test_a_fresh_fleet_on_the_live_release_passes_both_checks(tmp_path: Path, dagster_instance) -> None:
    store = LocalObjectStore(tmp_path / "store")
    ReleaseLedger(store).publish(live_release())
    put(store, healthy_agent())
    result = materialize(tmp_path, dagster_instance)
    assert result.success
    checks = verdicts(result)
    assert checks["edge_fleet_cameras_reporting"].passed
    assert checks["edge_fleet_on_current_release"].passed
    assert "every reporting agent runs release r2" in checks["edge_fleet_on_current_release"].description
    meta = metadata(result)
    assert (meta["agents"].value, meta["cameras"].value, meta["silent_cameras"].value) == (1, 2, 0)
    assert (meta["agents_on_old_release"].value, meta["canary_cameras"].value) == (0, 1)
    assert meta["shadow_cameras"].value == 1
    assert meta["outbox_dropped"].value == 1 and meta["samples_kept_last_hour"].value == 6
    table = meta["fleet"].value
    assert "| canary | shadow: agreement (compared) | fps |" in table.splitlines()[0]
    assert "| box-a | hall | 45 s ago | running | v2 (r2) | yes | - | 4.5 | 0 | 2 / 1 | 3 | 0 |" in table
    door = "| box-a | door | 45 s ago | running | v1 (r2) | no | v3: 97.5% (1200), 10 dropped | 5.0 |"
    assert door in table
    chart = Path(meta["last_seen_chart"].value)
    assert chart.is_file() and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_silent_cameras_and_an_agent_on_an_old_release_are_flagged(tmp_path: Path, dagster_instance) -> None:
    store = LocalObjectStore(tmp_path / "store")
    ReleaseLedger(store).publish(live_release())
    put(store, healthy_agent(), silent_agent(), stale_agent())
    store.put_bytes(agent_status_key("box-broken"), b"{not json", "application/json")
    # page_size 1: every listed key is a page of its own
    result = materialize(tmp_path, dagster_instance, page_size=1)
    assert result.success  # the checks warn; nothing fails or blocks
    checks = verdicts(result)
    reporting = checks["edge_fleet_cameras_reporting"]
    assert not reporting.passed and reporting.severity == dg.AssetCheckSeverity.WARN
    silent = {(s["agent_id"], s["camera_id"]) for s in reporting.metadata["silent"].value}
    assert silent == {("box-b", "lobby"), ("box-c", "yard")}  # not box-c's disabled camera
    assert "2 of 5 cameras silent" in reporting.description
    release = checks["edge_fleet_on_current_release"]
    assert not release.passed and release.severity == dg.AssetCheckSeverity.WARN
    assert set(release.metadata["agents"].value) == {"box-c"}
    reasons = release.metadata["agents"].value["box-c"]
    assert "has read release r1, live is r2" in reasons
    assert "camera gate runs v0, r2 names v1" in reasons
    meta = metadata(result)
    assert (meta["agents"].value, meta["silent_cameras"].value, meta["agents_on_old_release"].value) == (
        3,
        2,
        1,
    )
    assert meta["unreadable_statuses"].value == 1
    assert "agents/box-broken/status.json" in meta["unreadable"].value[0]
    table = meta["fleet"].value
    assert table.splitlines()[2].startswith("| box-b | lobby | **SILENT 20 min** |")  # silent ones first
    assert "v0 (r1), release names v1" in table
    assert meta["agent_errors"].value == {"box-c": ["camera yard is stalled: rtsp timeout"]}


def test_an_empty_store_is_an_empty_fleet_with_passing_checks(tmp_path: Path, dagster_instance) -> None:
    result = materialize(tmp_path, dagster_instance)
    assert result.success
    checks = verdicts(result)
    assert checks["edge_fleet_cameras_reporting"].passed
    assert checks["edge_fleet_on_current_release"].description.startswith("no release is live yet")
    meta = metadata(result)
    assert (meta["agents"].value, meta["cameras"].value, meta["live_release"].value) == (0, 0, "none")


def test_silence_is_judged_at_the_given_now_against_the_threshold(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    put(store, status("box", 100, camera("door", "v1", last_frame_age_s=20.0)))
    scan = read_agent_statuses(store, page_size=1)
    assert [s.agent_id for s in scan.statuses] == ["box"] and scan.problems == []

    def silent(now: datetime, threshold: float) -> bool:
        (row,) = build_fleet_report(scan.statuses, None, now=now, silent_after_s=threshold).rows
        return row.silent

    assert not silent(NOW, 120.0)  # quiet for 100 s status + 20 s frame = 120 s: not over
    assert silent(NOW + timedelta(seconds=1), 120.0)
    assert silent(NOW, 119.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_fleet_report(scan.statuses, None, now=NOW.replace(tzinfo=None), silent_after_s=60)


def test_each_camera_shows_its_shadow_model_and_agreement_as_read_from_the_store(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    fresh = CameraShadowStatus(model_version="v3", frame_share=0.5, frames_offered=1)  # nothing compared yet
    removed = CameraShadowStatus(
        frames_offered=40, frames_compared=40, boxes_matched=9, class_agreed=9, agreement=1.0
    )
    put(
        store,
        status(
            "box",
            10,
            camera("door", "v1", shadow=DOOR_SHADOW),
            camera("hall", "v1", shadow=fresh),
            camera("yard", "v1", shadow=removed),
            camera("gate", "v1"),
        ),
    )
    scan = read_agent_statuses(store)
    report = build_fleet_report(scan.statuses, live_release(), now=NOW, silent_after_s=600)
    rows = {r.camera_id: r for r in report.rows}
    assert rows["door"].shadow == DOOR_SHADOW and rows["gate"].shadow is None
    assert report.figures()["shadow_cameras"] == 2  # door and hall run one now; yard no longer does
    cells = {line.split(" | ")[1]: line.split(" | ")[6] for line in report.markdown().splitlines()[2:]}
    assert cells == {
        "door": "v3: 97.5% (1200), 10 dropped",
        "hall": "v3: - (0)",  # no compared frame had a box yet: no agreement to show
        "yard": "(none now): 100.0% (40)",
        "gate": "-",
    }


def test_a_status_under_another_agents_key_is_refused(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    store.put_bytes(agent_status_key("box-x"), healthy_agent().to_json().encode(), "application/json")
    scan = read_agent_statuses(store)
    assert scan.statuses == []
    assert scan.problems == ["agents/box-x/status.json: agent_id is 'box-a', but the key names 'box-x'"]


def test_the_schedule_refreshes_the_fleet_every_ten_minutes() -> None:
    schedule = fleet_defs.edge_fleet_schedule
    assert schedule.cron_schedule == "*/10 * * * *"
    assert schedule.job_name == "edge_fleet_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    defs = dg.Definitions(
        assets=[fleet_defs.edge_fleet],
        jobs=[fleet_defs.edge_fleet_job],
        schedules=[schedule],
        resources={"object_store": ObjectStoreResource(), "work_dir": WorkDirResource()},
    )
    job = defs.resolve_job_def("edge_fleet_job")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {"edge_fleet"}
    checks = {k.name for k in job.asset_layer.asset_graph.asset_check_keys}
    assert checks == {"edge_fleet_cameras_reporting", "edge_fleet_on_current_release"}
