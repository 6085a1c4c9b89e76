"""The agent end to end on real files: video in, samples and telemetry out in the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from edge_agent.agent import EdgeAgent
from edge_agent.config import load_config
from edge_agent.telemetry import parquet_to_rows
from maskops_contracts import SampleRecord, parse_sample_key
from maskops_contracts.sample import content_sample_id

REPO = Path(__file__).resolve().parents[2]


def check_store(root: Path) -> list[SampleRecord]:
    """Every sample in the store is whole: a .jpg whose hash is its id, and a valid .json beside it."""
    records = []
    for path in sorted(root.glob("samples/*/*/*.json")):
        camera_id, _, sample_id, _ = parse_sample_key(str(path.relative_to(root)))
        record = SampleRecord.from_json(path.read_bytes(), source=str(path))
        assert record.sample_id == sample_id and record.camera_id == camera_id
        jpg = path.with_suffix(".jpg").read_bytes()
        assert content_sample_id(jpg) == sample_id
        records.append(record)
    assert len(list(root.glob("samples/*/*/*.jpg"))) == len(records)
    return records


def test_agent_processes_a_video_into_samples_and_telemetry(
    tmp_path: Path, make_video, fake_model_path, write_agent_config
) -> None:
    video = make_video(n_frames=12)
    path = write_agent_config(
        [{"camera_id": "door", "source": {"kind": "video", "uri": str(video)}}],
        {"kind": "local", "root": str(tmp_path / "store")},
        detector={"model_path": str(fake_model_path), "model_version": "factory"},
    )
    agent = EdgeAgent(load_config(path), until_sources_end=True)
    summary = agent.run()
    cam = summary["cameras"]["door"]
    assert cam["frames_read"] == 12
    assert cam["frames_analysed"] == 12
    assert summary["drained"] is True
    records = check_store(tmp_path / "store")
    assert len(records) == cam["samples_kept"] > 0
    assert {r.model_version for r in records} == {"factory"}
    assert all(r.reason.rule == "uncertainty_band" and len(r.detections) == 1 for r in records)
    rows = [
        r
        for f in (tmp_path / "store").glob("telemetry/door/*/*.parquet")
        for r in parquet_to_rows(f.read_bytes())
    ]
    assert len(rows) == 12
    assert all(r.num_detections == 1 and r.model_version == "factory" for r in rows)
    # runtime auto is OpenVINO where installed; a model_path has no release gate, so auto is fp32
    assert {(r.runtime, r.precision) for r in rows} == {("openvino", "fp32")}


def test_agent_without_any_model_still_sends_telemetry(
    tmp_path: Path, make_image_folder, write_agent_config
) -> None:
    folder = make_image_folder(n=4)
    path = write_agent_config(
        [{"camera_id": "hall", "source": {"kind": "folder", "uri": str(folder)}}],
        {"kind": "local", "root": str(tmp_path / "store")},
    )
    summary = EdgeAgent(load_config(path), until_sources_end=True).run()
    # no release: the folder waited for the first poll only, then ran without a model
    assert summary["cameras"]["hall"]["frames_analysed"] == 0
    assert summary["cameras"]["hall"]["frames_without_model"] == 4
    assert summary["cameras"]["hall"]["samples_kept"] == 0
    rows = [
        r
        for f in (tmp_path / "store").glob("telemetry/hall/*/*.parquet")
        for r in parquet_to_rows(f.read_bytes())
    ]
    assert {r.model_version for r in rows} == {"none"} and len(rows) == 4
    assert {(r.runtime, r.precision) for r in rows} == {(None, None)}


def test_cli_run_until_sources_end_prints_one_summary_line(
    tmp_path: Path, make_video, fake_model_path, write_agent_config
) -> None:
    path = write_agent_config(
        [{"camera_id": "door", "source": {"kind": "video", "uri": str(make_video(n_frames=6))}}],
        {"kind": "local", "root": str(tmp_path / "store")},
        detector={"model_path": str(fake_model_path)},
    )
    proc = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(path), "--until-sources-end"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["event"] == "summary"
    assert summary["cameras"]["door"]["frames_read"] == 6
    assert summary["elapsed_s"] > 0
    # stderr is structured JSON logs, one object per line
    events = [json.loads(line)["event"] for line in proc.stderr.splitlines() if line.startswith("{")]
    assert "agent_starting" in events and "agent_stopped" in events


def test_cli_run_with_a_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "agent.yaml"
    bad.write_text("agent_id: x\ncameras: []\nstore: {kind: local, root: s}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert f"{bad}:2: cameras:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sigterm_stops_drains_flushes_and_exits_0(
    tmp_path: Path, make_image_folder, fake_model_path, write_agent_config, unused_port
) -> None:
    port = unused_port()
    folder = make_image_folder(n=5)
    path = write_agent_config(
        [
            {
                "camera_id": "hall",
                "source": {
                    "kind": "folder",
                    "uri": str(folder),
                    "loop": True,
                    "realtime": True,
                    "folder_fps": 10,
                },
            }
        ],
        {"kind": "local", "root": str(tmp_path / "store")},
        detector={"model_path": str(fake_model_path)},
        telemetry={"batch_rows": 100000, "batch_seconds": 3600},  # only the shutdown flush writes telemetry
        http={"enabled": True, "port": port},
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.loads(response.read())
                if health["cameras"]["hall"]["frames_analysed"] >= 3:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert health is not None and health["status"] == "ok", health
        assert health["cameras"]["hall"]["model_version"] == "local"
        assert (health["cameras"]["hall"]["runtime"], health["cameras"]["hall"]["precision"]) == (
            "openvino",
            "fp32",
        )
        assert health["cameras"]["hall"]["frames_analysed"] >= 3, health
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events = [e["event"] for e in logged]
    assert events[-1] == "agent_stopped"
    assert list((tmp_path / "store").glob("telemetry/hall/*/*.parquet")), (
        "telemetry was not flushed on SIGTERM"
    )
    check_store(tmp_path / "store")
    # and it drained: nothing left queued on disk, nothing reported as left behind
    summary = logged[-1]["summary"]
    assert summary["drained"] is True and summary["outbox"]["depth"] == 0
    assert "outbox_not_drained" not in events
    assert not any((tmp_path / "data" / "outbox" / "files").iterdir())


def test_shutdown_waits_for_a_camera_that_is_slow_to_stop(
    tmp_path: Path, make_video, fake_model_path, write_agent_config, caplog
) -> None:
    """A camera blocked in a stream read finishes its frames only when the read times out;
    telemetry and the outbox must close after that, not after a fixed join timeout."""
    path = write_agent_config(
        [{"camera_id": "door", "source": {"kind": "video", "uri": str(make_video(n_frames=2))}}],
        {"kind": "local", "root": str(tmp_path / "store")},
        detector={"model_path": str(fake_model_path), "model_version": "factory"},
    )
    agent = EdgeAgent(load_config(path))
    agent.slow_stop_warn_s = 0.3
    worker = agent.workers[0]
    finished_at: list[float] = []

    def blocked_in_a_read() -> None:  # stands in for cap.read() waiting out its timeout
        agent._camera_stop.wait()
        time.sleep(1.5)
        finished_at.append(time.monotonic())

    worker._thread = threading.Thread(target=blocked_in_a_read, daemon=True)
    worker.start()
    agent._camera_stop.set()
    agent._join_workers()
    returned_at = time.monotonic()
    assert finished_at and finished_at[0] <= returned_at
    assert not worker.alive
    assert any(getattr(r, "event", None) == "camera_slow_to_stop" for r in caplog.records)


# ---------------------------------------------------------------- loose ends (issue 9)
def _telemetry_rows(store: Path, camera: str) -> list:
    return [r for f in store.glob(f"telemetry/{camera}/*/*.parquet") for r in parquet_to_rows(f.read_bytes())]


def test_a_file_source_on_a_fresh_box_waits_for_the_first_model(
    tmp_path: Path, make_video, make_yolo_onnx, write_agent_config
) -> None:
    """Fresh data_dir, model sync on, a release in the store, no model_path: every frame of the
    clip runs on the released model (none read before the first poll loaded it)."""
    import hashlib

    from edge_agent.transport import LocalDirTransport
    from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest, model_key

    store = LocalDirTransport(tmp_path / "store")
    data = make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.55, 0.40, 0.05))], name="v1.onnx").read_bytes()
    store.put(model_key("v1"), data, "application/octet-stream")
    ref = ModelRef(model_version="v1", uri=model_key("v1"), sha256=hashlib.sha256(data).hexdigest(), imgsz=64)
    manifest = ReleaseManifest(release_id="r1", champion=ref)
    store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")
    path = write_agent_config(
        [{"camera_id": "door", "source": {"kind": "video", "uri": str(make_video(n_frames=30))}}],
        {"kind": "local", "root": str(tmp_path / "store")},
        model_sync={"first_model_wait_s": 600},
    )
    summary = EdgeAgent(load_config(path), until_sources_end=True).run()
    cam = summary["cameras"]["door"]
    assert (cam["frames_read"], cam["frames_analysed"], cam["frames_without_model"]) == (30, 30, 0)
    assert {r.model_version for r in _telemetry_rows(tmp_path / "store", "door")} == {"v1"}


def test_healthz_reports_what_each_camera_runs_and_the_refused_release_apart(
    tmp_path: Path, make_yolo_onnx, make_image_folder, write_agent_config
) -> None:
    import hashlib

    from edge_agent.transport import LocalDirTransport
    from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest, model_key

    store = LocalDirTransport(tmp_path / "store")

    def publish(version: str, release_id: str, data: bytes, sha256: str | None = None) -> None:
        store.put(model_key(version), data, "application/octet-stream")
        ref = ModelRef(version, model_key(version), sha256 or hashlib.sha256(data).hexdigest(), imgsz=64)
        manifest = ReleaseManifest(release_id=release_id, champion=ref)
        store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")

    path = write_agent_config(
        [{"camera_id": "hall", "source": {"kind": "folder", "uri": str(make_image_folder(n=2))}}],
        {"kind": "local", "root": str(tmp_path / "store")},
    )
    agent = EdgeAgent(load_config(path))
    try:
        publish("v1", "r1", make_yolo_onnx([((8.0, 8.0, 40.0, 40.0), (0.9, 0.05, 0.05))]).read_bytes())
        agent.model_sync.poll_once()
        publish("v2", "r2", b"whatever", sha256="0" * 64)
        agent.model_sync.poll_once()
        _, body = agent.health()
    finally:
        agent.outbox.close()
    hall = body["cameras"]["hall"]
    assert (hall["model_version"], hall["release_id"]) == ("v1", "r1")
    assert "release_id" not in body  # no single "current release": each camera says what it runs
    assert body["release"]["manifest_release_id"] == "r2"
    refused = body["release"]["refused"]["hall"]
    assert (refused["release_id"], refused["model_version"]) == ("r2", "v2")
    assert refused["reason"] == "sha256_mismatch"


def test_until_sources_end_exits_when_the_files_end_and_stops_the_streams(
    tmp_path: Path, make_image_folder, write_agent_config, unused_port
) -> None:
    path = write_agent_config(
        [
            {"camera_id": "hall", "source": {"kind": "folder", "uri": str(make_image_folder(n=3))}},
            {
                "camera_id": "gate",
                "source": {
                    "kind": "stream",
                    "uri": f"rtsp://127.0.0.1:{unused_port()}/x",
                    "reconnect_initial_s": 0.1,
                    "reconnect_max_s": 0.2,
                    "open_timeout_s": 1,
                },
            },
        ],
        {"kind": "local", "root": str(tmp_path / "store")},
        model_sync={"enabled": False},
    )
    agent = EdgeAgent(load_config(path), until_sources_end=True)
    result: list[dict] = []
    thread = threading.Thread(target=lambda: result.append(agent.run()), daemon=True)
    thread.start()
    thread.join(timeout=90)  # generous: it returns as soon as the folder has ended
    if thread.is_alive():
        agent.request_stop()
        agent.request_stop()
        thread.join(timeout=30)
        raise AssertionError("--until-sources-end did not exit although every file source ended")
    cameras = result[0]["cameras"]
    assert cameras["hall"]["status"] == "ended" and cameras["hall"]["frames_read"] == 3
    assert cameras["gate"]["status"] == "stopped"


def test_json_logs_stay_json_with_a_dead_rtsp_url_and_a_corrupt_jpeg(
    tmp_path: Path, make_image_folder, write_agent_config, unused_port
) -> None:
    """FFmpeg, OpenCV and libjpeg write to the same stderr; with log.format json every line of
    it must still be one JSON object (a line-by-line reader breaks otherwise)."""
    folder = make_image_folder(n=3)
    whole = (folder / "frame_0001.jpg").read_bytes()
    (folder / "frame_0001b.jpg").write_bytes(whole[: len(whole) // 2])  # libjpeg: premature end
    (folder / "frame_0001c.jpg").write_bytes(b"not a jpeg at all")
    path = write_agent_config(
        [
            {"camera_id": "hall", "source": {"kind": "folder", "uri": str(folder)}},
            {
                "camera_id": "gate",
                "source": {
                    "kind": "stream",
                    "uri": f"rtsp://127.0.0.1:{unused_port()}/x",
                    "reconnect_initial_s": 0.1,
                    "reconnect_max_s": 0.2,
                    "open_timeout_s": 1,
                },
            },
        ],
        {"kind": "local", "root": str(tmp_path / "store")},
        model_sync={"enabled": False},
        log={"level": "DEBUG", "format": "json"},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    proc = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(path), "--until-sources-end"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    not_json = []
    for line in lines:
        try:
            assert isinstance(json.loads(line), dict)
        except (ValueError, AssertionError):
            not_json.append(line)
    assert not_json == [], not_json[:10]
    events = [json.loads(line)["event"] for line in lines]
    assert "agent_stopped" in events and "camera_source_error" in events
