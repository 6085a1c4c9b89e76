"""The agent's heartbeat: ``agents/<agent_id>/status.json``, built from what the agent tracks and
sent latest-wins (an outage delivers the newest status once, never a queue of stale ones)."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.config import ConfigError, load_config, parse_config
from edge_agent.outbox import read_ledger
from edge_agent.status import RollingCount, StatusPublisher
from edge_agent.transport import LocalDirTransport, TransportError
from maskops_contracts import (
    MANIFEST_KEY,
    AgentStatus,
    CameraStatus,
    CanaryModel,
    ModelRef,
    ReleaseManifest,
    agent_status_key,
    model_key,
)
from maskops_contracts.manifest import ShadowModel


class SwitchableStore(LocalDirTransport):
    """A local store that refuses every request while ``down`` is set, and counts what it stored."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.down = threading.Event()
        self.puts: list[str] = []
        self.failed_puts = 0
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if self.down.is_set():
            with self._lock:
                self.failed_puts += 1
            raise TransportError(f"{key}: store unreachable (test outage)")
        super().put(key, data, content_type)
        with self._lock:
            self.puts.append(key)


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def test_a_real_run_writes_its_status_with_each_camera_and_its_model(
    tmp_path: Path, make_video, fake_model_path, write_agent_config
) -> None:
    store = tmp_path / "store"
    path = write_agent_config(
        [
            {"camera_id": "door", "source": {"kind": "video", "uri": str(make_video(n_frames=12))}},
            {"camera_id": "spare", "enabled": False, "source": {"kind": "video", "uri": "nothing.mp4"}},
        ],
        {"kind": "local", "root": str(store)},
        detector={"model_path": str(fake_model_path), "model_version": "factory"},
        status_interval_s=0.2,
    )
    before = datetime.now(UTC)
    agent = EdgeAgent(load_config(path), until_sources_end=True)
    summary = agent.run()
    key = agent_status_key("test-box")
    status = AgentStatus.from_json((store / key).read_bytes(), source=key)
    # the final status, written after the cameras stopped: the run's final figures
    assert status.agent_id == "test-box" and status.sent_at >= before
    assert status.camera_ids == ("door", "spare")
    door = status.camera("door")
    assert (door.state, door.model_version, door.release_id, door.canary) == ("ended", "factory", None, None)
    assert (door.runtime, door.precision) == ("openvino", "fp32")
    assert door.frames_analysed == door.frames_read == 12
    assert door.samples_kept == door.samples_kept_last_hour == summary["cameras"]["door"]["samples_kept"] > 0
    assert door.frame_errors == 0 and door.last_error is None
    assert status.camera("spare").state == "disabled"
    assert status.status == "ok" and status.errors == ()
    assert status.outbox.total_depth == 0 and status.outbox.total_dropped == 0  # drained first
    assert status.status_interval_s == 0.2
    # the heartbeat does not go through the durable queue: the outbox never saw the key
    assert key not in read_ledger(tmp_path / "data" / "outbox")
    assert agent.status_publisher.pending is None and agent.status_publisher.sent >= 1


def numbered_statuses():
    """A build function whose n-th status is sent n seconds after a fixed time (and its list)."""
    built: list[AgentStatus] = []
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def build() -> AgentStatus:
        status = AgentStatus(
            agent_id="box",
            sent_at=start + timedelta(seconds=len(built)),
            cameras=(CameraStatus(camera_id="door", state="running", frames_read=len(built)),),
        )
        built.append(status)
        return status

    return build, built


def stored_status(root: Path) -> AgentStatus:
    return AgentStatus.from_json((root / agent_status_key("box")).read_bytes())


def test_through_an_outage_only_the_newest_status_is_delivered(tmp_path: Path) -> None:
    store = SwitchableStore(tmp_path / "store")
    build, built = numbered_statuses()
    publisher = StatusPublisher(store, "box", build, interval_s=60)
    store.down.set()
    for _ in range(5):
        assert publisher.publish_now() is False
    assert publisher.superseded == 4 and store.puts == []  # one slot, replaced: nothing piles up
    store.down.clear()
    assert publisher.send_pending() is True
    assert store.puts == [agent_status_key("box")]  # one write, not five
    assert stored_status(tmp_path / "store") == built[-1]
    assert publisher.send_pending() is True and len(store.puts) == 1  # nothing left to resend


def test_the_heartbeat_thread_resumes_with_the_newest_status_after_an_outage(tmp_path: Path) -> None:
    store = SwitchableStore(tmp_path / "store")
    build, built = numbered_statuses()
    publisher = StatusPublisher(store, "box", build, interval_s=0.05, retry_initial_s=0.01, retry_max_s=0.02)
    store.down.set()
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(built) >= 5 and store.failed_puts >= 3, timeout=60, what="failed heartbeats")
        built_before_back = len(built)
        store.down.clear()
        wait_for(lambda: publisher.sent >= 1, timeout=60, what="the store to get a status")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    # every status stored is one built from the newest of the outage on: none of the stale ones
    stored = stored_status(tmp_path / "store")
    assert stored.camera("door").frames_read >= built_before_back - 1
    assert publisher.sent <= len(built) - built_before_back + 1


def test_a_canary_camera_reports_the_canary_model_and_the_release(
    tmp_path: Path, make_yolo_onnx, make_image_folder, write_agent_config
) -> None:
    store = LocalDirTransport(tmp_path / "store")

    def upload(version: str, path: Path) -> ModelRef:
        data = path.read_bytes()
        store.put(model_key(version), data, "application/octet-stream")
        return ModelRef(version, model_key(version), hashlib.sha256(data).hexdigest(), imgsz=64)

    champion = upload("v1", make_yolo_onnx([((8.0, 8.0, 40.0, 40.0), (0.9, 0.05, 0.05))], name="a.onnx"))
    canary_ref = upload("v2", make_yolo_onnx([((8.0, 8.0, 40.0, 40.0), (0.8, 0.1, 0.1))], name="b.onnx"))
    canary = CanaryModel(**canary_ref.__dict__, cameras=("hall",))
    manifest = ReleaseManifest(release_id="r1", champion=champion, canary=canary)
    store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")
    folder = str(make_image_folder(n=2))
    path = write_agent_config(
        [
            {"camera_id": "hall", "source": {"kind": "folder", "uri": folder}},
            {"camera_id": "door", "source": {"kind": "folder", "uri": folder}},
        ],
        {"kind": "local", "root": str(tmp_path / "store")},
    )
    agent = EdgeAgent(load_config(path))
    try:
        agent.model_sync.poll_once()
        status = agent.status.build()
    finally:
        agent.outbox.close()
    assert status.manifest_release_id == "r1"
    hall, door = status.camera("hall"), status.camera("door")
    assert (hall.model_version, hall.release_id, hall.canary) == ("v2", "r1", True)
    assert (door.model_version, door.release_id, door.canary) == ("v1", "r1", False)
    assert hall.state == door.state == "starting" and hall.analysed_fps == 0.0


def test_a_shadow_camera_reports_its_shadow_figures_and_the_other_camera_none(
    tmp_path: Path, make_video, make_yolo_onnx, write_agent_config
) -> None:
    """Two cameras read the same clip; the release's shadow (the champion's own network under
    another version: full agreement by construction) names ``door`` at a share of 1/2."""
    root = tmp_path / "store"
    store = LocalDirTransport(root)

    def upload(version: str, data: bytes) -> ModelRef:
        store.put(model_key(version), data, "application/octet-stream")
        return ModelRef(version, model_key(version), hashlib.sha256(data).hexdigest(), imgsz=64)

    data = make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.55, 0.40, 0.05))], name="v1.onnx").read_bytes()
    shadow = ShadowModel(**upload("v1-twin", data).__dict__, cameras=("door",), frame_share=0.5)
    manifest = ReleaseManifest("r1", upload("v1", data), shadow=shadow)
    store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")
    video = str(make_video(n_frames=20))
    path = write_agent_config(
        [
            {"camera_id": "door", "source": {"kind": "video", "uri": video}},
            {"camera_id": "hall", "source": {"kind": "video", "uri": video}},
        ],
        {"kind": "local", "root": str(root)},
        model_sync={"first_model_wait_s": 600},
    )
    agent = EdgeAgent(load_config(path), until_sources_end=True)
    summary = agent.run()
    key = agent_status_key("test-box")
    status = AgentStatus.from_json((root / key).read_bytes(), source=key)
    door, hall = status.camera("door"), status.camera("hall")
    assert hall.shadow is None
    assert door.shadow is not None
    assert (door.shadow.model_version, door.shadow.frame_share) == ("v1-twin", 0.5)
    assert door.shadow.frames_offered == 10  # every second one of the 20 frames
    assert door.shadow.frames_compared >= 1 and door.shadow.agreement == 1.0
    assert door.shadow.champion_only == door.shadow.shadow_only == door.shadow.frames_failed == 0
    # the final status and the summary are both read after the shadow worker finished: the same figures
    health = summary["cameras"]["door"]["shadow"]
    assert door.shadow.to_dict() == {k: health[k] for k in door.shadow.to_dict()}


def test_samples_kept_in_the_last_hour_is_a_rolling_count() -> None:
    kept = RollingCount(window_s=3600, start=0.0, initial=0)
    for minute, total in ((10, 5), (40, 12), (70, 20), (100, 26)):
        kept.observe(minute * 60.0, total)
    # at minute 100 the window starts at minute 40: 26 - 12
    assert kept.over_window(100 * 60.0, 26) == 14
    assert kept.over_window(100 * 60.0, 30) == 18  # kept since the last snapshot count too
    young = RollingCount(window_s=3600, start=0.0, initial=3)
    young.observe(600.0, 8)
    assert young.over_window(600.0, 8) == 5  # younger than an hour: since the start


@pytest.mark.parametrize("value", [-5, 7200, "often"])
def test_a_bad_status_interval_is_a_clear_error_naming_the_key_and_line(value) -> None:
    text = (
        "agent_id: box\n"
        "status_interval_s: " + str(value) + "\n"
        "cameras:\n"
        "  - camera_id: door\n"
        "    source: {kind: video, uri: clip.mp4}\n"
        "store: {kind: local, root: store}\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text, "agent.yaml")
    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith("agent.yaml:2: status_interval_s: ")


def test_status_interval_defaults_to_a_minute_and_zero_turns_it_off() -> None:
    base = (
        "agent_id: box\ncameras:\n  - camera_id: door\n    source: {kind: video, uri: clip.mp4}\n"
        "store: {kind: local, root: store}\n"
    )
    assert parse_config(base).status_interval_s == 60.0
    assert parse_config(base + "status_interval_s: 0\n").status_interval_s == 0.0
