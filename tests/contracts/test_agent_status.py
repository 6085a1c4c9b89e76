"""The agent status contract: round trip, errors naming the field, forward-compatible reading."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from maskops_contracts import (
    AgentStatus,
    CameraStatus,
    ContractError,
    ModelRefusal,
    OutboxStatus,
    agent_status_key,
    parse_agent_status_key,
)
from maskops_contracts.status import CameraShadowStatus


def shadow_figures() -> CameraShadowStatus:
    return CameraShadowStatus(
        model_version="maskops-detector-v5",
        frame_share=0.1,
        frames_offered=3010,
        frames_compared=2990,
        frames_dropped=18,
        frames_failed=2,
        boxes_matched=4100,
        class_agreed=4010,
        champion_only=60,
        shadow_only=40,
        samples_kept=12,
        agreement=0.9545,
        mean_confidence_delta=-0.0312,
    )


def full_status() -> AgentStatus:
    return AgentStatus(
        agent_id="lobby-box-1",
        sent_at=datetime(2026, 11, 23, 9, 20, tzinfo=UTC),
        cameras=(
            CameraStatus(
                camera_id="lobby-cam-1",
                state="running",
                model_version="maskops-detector-v4",
                release_id="rel-20261123T091500Z-7c1e",
                canary=True,
                runtime="openvino",
                precision="bf16",
                analysed_fps=4.8,
                frames_read=120431,
                frames_analysed=30107,
                samples_kept=212,
                samples_kept_last_hour=9,
                frame_errors=1,
                restarts=2,
                last_frame_age_s=0.2,
                shadow=shadow_figures(),
            ),
            CameraStatus(
                camera_id="lobby-cam-2",
                state="reconnecting",
                model_version="maskops-detector-v3",
                canary=False,
                last_error="rtsp timeout",
                refused=ModelRefusal("rel-20261123T091500Z-7c1e", "maskops-detector-v4", "sha256_mismatch"),
            ),
        ),
        status="degraded",
        manifest_release_id="rel-20261123T091500Z-7c1e",
        outbox=OutboxStatus(
            depth={"sample": 3, "telemetry": 1},
            dropped={"sample": 2, "telemetry": 0},
            bytes=181204,
            upload_failures_in_a_row=0,
        ),
        errors=("camera lobby-cam-2 is reconnecting: rtsp timeout",),
        status_interval_s=60.0,
        uptime_s=86400.0,
    )


def test_status_round_trips_through_json() -> None:
    status = full_status()
    data = json.loads(status.to_json())
    assert data["schema_version"] == 1
    assert data["sent_at"] == "2026-11-23T09:20:00Z"
    assert set(data["cameras"]) == {"lobby-cam-1", "lobby-cam-2"}  # keyed by camera_id
    assert data["cameras"]["lobby-cam-2"]["refused"]["reason"] == "sha256_mismatch"
    assert data["cameras"]["lobby-cam-1"]["shadow"]["agreement"] == 0.9545
    assert data["cameras"]["lobby-cam-2"]["shadow"] is None  # runs no shadow model
    again = AgentStatus.from_json(status.to_json())
    assert again == status
    assert again.camera("lobby-cam-1").canary is True
    assert again.camera("lobby-cam-1").shadow == shadow_figures()
    assert again.camera("lobby-cam-2").shadow is None
    assert again.outbox.total_depth == 4 and again.outbox.total_dropped == 2


def test_a_status_from_an_agent_before_shadow_figures_reads_as_no_shadow() -> None:
    data = full_status().to_dict()
    for body in data["cameras"].values():
        del body["shadow"]  # what an agent from before the field wrote
    status = AgentStatus.from_dict(data)
    assert status.schema_version == 1
    assert [c.shadow for c in status.cameras] == [None, None]


def test_a_shadow_reads_its_known_fields_by_name_and_defaults_the_missing_ones() -> None:
    data = full_status().to_dict()
    data["cameras"]["lobby-cam-1"]["shadow"]["added_later"] = {"per_class": [1, 2]}
    assert AgentStatus.from_dict(data).camera("lobby-cam-1").shadow == shadow_figures()
    data["cameras"]["lobby-cam-1"]["shadow"] = {"model_version": "v5", "frames_offered": 4}
    shadow = AgentStatus.from_dict(data).camera("lobby-cam-1").shadow
    assert shadow == CameraShadowStatus(model_version="v5", frames_offered=4)
    assert (shadow.frame_share, shadow.agreement, shadow.frames_compared) == (None, None, 0)


def test_a_shadow_removed_by_a_later_release_keeps_its_figures_without_a_model() -> None:
    removed = CameraShadowStatus(frames_offered=10, frames_compared=10, boxes_matched=3, class_agreed=3)
    camera = CameraStatus(camera_id="door", state="running", shadow=removed)
    assert CameraStatus.from_dict("door", camera.to_dict()).shadow == removed


def test_key_is_agents_id_status_json_and_parses_back() -> None:
    assert agent_status_key("lobby-box-1") == "agents/lobby-box-1/status.json"
    assert parse_agent_status_key("agents/lobby-box-1/status.json") == "lobby-box-1"
    with pytest.raises(ContractError, match="agent_id"):
        agent_status_key("../etc")
    for bad in ("agents/a/b/status.json", "agents/box/other.json", "samples/box/status.json"):
        with pytest.raises(ContractError, match="not an agent status key"):
            parse_agent_status_key(bad)


def test_unknown_fields_are_ignored_and_missing_optional_ones_read_as_not_recorded() -> None:
    minimal = {
        "schema_version": 1,
        "agent_id": "box",
        "sent_at": "2026-11-23T09:20:00Z",
        "cameras": {"door": {"state": "running", "future_field": [1, 2]}},
        "added_later": {"anything": True},
    }
    status = AgentStatus.from_dict(minimal)
    door = status.camera("door")
    assert (door.model_version, door.release_id, door.canary, door.analysed_fps) == ("none", None, None, 0.0)
    assert status.outbox == OutboxStatus() and status.errors == () and status.status == "ok"
    assert status.manifest_release_id is None and status.status_interval_s is None


def shadow_of(data: dict) -> dict:
    return data["cameras"]["lobby-cam-1"]["shadow"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("sent_at"), "sent_at"),
        (lambda d: d.update(sent_at="2026-11-23T09:20:00"), "sent_at"),  # naive: refused
        (lambda d: d.update(agent_id="a/b"), "agent_id"),
        (lambda d: d.update(status="fine"), "status"),
        (lambda d: d["cameras"]["lobby-cam-1"].update(analysed_fps=-1), "cameras.lobby-cam-1.analysed_fps"),
        (lambda d: d["cameras"]["lobby-cam-1"].update(canary="yes"), "cameras.lobby-cam-1.canary"),
        (lambda d: d["cameras"]["lobby-cam-1"].pop("state"), "cameras.lobby-cam-1.state"),
        (
            lambda d: d["cameras"]["lobby-cam-2"]["refused"].pop("reason"),
            "cameras.lobby-cam-2.refused.reason",
        ),
        (lambda d: d["outbox"]["dropped"].update(sample=-2), "outbox.dropped.sample"),
        (lambda d: d["cameras"]["lobby-cam-1"].update(shadow="v5"), "cameras.lobby-cam-1.shadow"),
        (lambda d: shadow_of(d).update(agreement=1.2), "cameras.lobby-cam-1.shadow.agreement"),
        (lambda d: shadow_of(d).update(agreement="high"), "cameras.lobby-cam-1.shadow.agreement"),
        (lambda d: shadow_of(d).update(frames_dropped=-1), "cameras.lobby-cam-1.shadow.frames_dropped"),
        (lambda d: shadow_of(d).update(frames_compared=2.5), "cameras.lobby-cam-1.shadow.frames_compared"),
        (lambda d: shadow_of(d).update(frame_share=0), "cameras.lobby-cam-1.shadow.frame_share"),
        (lambda d: shadow_of(d).update(frame_share=1.5), "cameras.lobby-cam-1.shadow.frame_share"),
        (lambda d: shadow_of(d).update(model_version="../v5"), "cameras.lobby-cam-1.shadow.model_version"),
        (
            lambda d: shadow_of(d).update(mean_confidence_delta=-2.0),
            "cameras.lobby-cam-1.shadow.mean_confidence_delta",
        ),
        (lambda d: shadow_of(d).update(class_agreed=5000), "cameras.lobby-cam-1.shadow.class_agreed"),
        (lambda d: d.update(cameras=["lobby-cam-1"]), "cameras"),
        (lambda d: d.update(schema_version=2), "schema_version"),
    ],
)
def test_a_bad_field_is_named_with_the_source(change, field: str) -> None:
    data = full_status().to_dict()
    change(data)
    with pytest.raises(ContractError) as err:
        AgentStatus.from_dict(data, source="agents/lobby-box-1/status.json")
    assert err.value.field == field
    assert err.value.source == "agents/lobby-box-1/status.json"


def test_not_json_names_the_key() -> None:
    with pytest.raises(ContractError, match=r"agents/x/status.json: <json>: not valid JSON"):
        AgentStatus.from_json(b"{", source="agents/x/status.json")


def test_a_camera_listed_twice_is_refused() -> None:
    cam = CameraStatus(camera_id="door", state="running")
    with pytest.raises(ContractError, match="listed twice"):
        AgentStatus(agent_id="box", sent_at=datetime.now(UTC), cameras=(cam, cam))
