"""The agent end to end on real files: video in, samples and telemetry out in the store."""

from __future__ import annotations

import json
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
    assert summary["cameras"]["hall"]["frames_analysed"] == 4
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
