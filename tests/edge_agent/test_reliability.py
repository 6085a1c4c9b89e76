"""Reliability against a real S3 endpoint (moto's server on loopback) and real agent processes.

1. the store goes away while the agent runs and comes back on the same port: every kept
   sample arrives, none twice;
2. the agent is SIGKILLed ten times during uploads: no kept sample is lost, no partial object;
3. a release whose sha256 does not match: the old model keeps running, the refusal is logged
   and counted in /metrics;
4. a corrupt video and a dead RTSP URL: one clear log line each, the other camera keeps going.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.config import load_config
from edge_agent.outbox import read_ledger
from maskops_contracts import (
    MANIFEST_KEY,
    ModelRef,
    ReleaseManifest,
    SampleRecord,
    model_key,
    parse_sample_key,
)
from maskops_contracts.sample import content_sample_id

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def s3_store(moto_s3) -> dict:
    return {
        "kind": "s3",
        "bucket": moto_s3.bucket,
        "endpoint_url": moto_s3.endpoint_url,
        "connect_timeout_s": 0.5,
        "read_timeout_s": 2,
    }


def agent_cmd(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edge_agent", "run", "--config", str(config), *extra]


def assert_store_matches_ledger(moto_s3, data_dir: Path) -> set[str]:
    """Every sample key the agent kept is in the bucket, whole; nothing else is there."""
    ledger = read_ledger(data_dir / "outbox")
    kept = {k for k, state in ledger.items() if k.startswith("samples/") and state in ("queued", "delivered")}
    assert all(state == "delivered" for k, state in ledger.items() if k in kept), "outbox not drained"
    stored = set(moto_s3.keys("samples/"))
    assert kept, "the test kept no samples at all"
    assert stored == kept
    for key in stored:
        _, _, sample_id, ext = parse_sample_key(key)
        data = moto_s3.get(key)
        if ext == "jpg":
            assert content_sample_id(data) == sample_id, f"{key} is not the whole image"
        else:
            assert SampleRecord.from_json(data, source=key).sample_id == sample_id
    return kept


def test_store_outage_loses_and_duplicates_nothing(
    moto_s3, make_video, fake_model_path, write_agent_config, s3_test_env, tmp_path: Path
) -> None:
    # 20 distinct frames (the square has not wrapped round yet) played in real time over 4 s
    video = make_video(n_frames=20, fps=5.0)
    config = write_agent_config(
        [{"camera_id": "door", "source": {"kind": "video", "uri": str(video), "realtime": True}}],
        s3_store(moto_s3),
        detector={"model_path": str(fake_model_path)},
    )
    proc = subprocess.Popen(
        agent_cmd(config, "--until-sources-end"),
        cwd=REPO,
        env={**os.environ, **s3_test_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    # Conditions, not sleeps, so a slow or loaded machine sees the same story: the store goes away
    # once uploads work, and comes back (same port, same bucket) only after the agent noticed.
    wait_for(lambda: moto_s3.keys("samples/"), timeout=120, what="the first uploaded sample")
    moto_s3.stop()
    wait_for(
        lambda: any('"outbox_upload_failed"' in line for line in list(lines)),
        timeout=120,
        what="the agent to notice the outage",
    )
    moto_s3.start()
    out = proc.stdout.read()
    proc.wait(timeout=120)
    reader.join(timeout=10)
    err = "".join(lines)
    assert proc.returncode == 0, err[-3000:]
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "outbox_upload_failed" in names, "the outage was not noticed"
    assert "outbox_store_back" in names
    summary = json.loads(out.strip().splitlines()[-1])
    kept = assert_store_matches_ledger(moto_s3, tmp_path / "data")
    assert len(kept) == 2 * summary["cameras"]["door"]["samples_kept"]  # .jpg + .json each, no duplicates
    assert summary["outbox"]["uploaded"]["sample"] == summary["cameras"]["door"]["samples_kept"] > 0
    assert summary["outbox"]["dropped"]["sample"] == 0
    records = [SampleRecord.from_json(moto_s3.get(k)) for k in kept if k.endswith(".json")]
    assert len({r.sample_id for r in records}) == len(records)


def test_sigkill_during_uploads_loses_no_kept_sample(
    moto_s3, make_video, fake_model_path, write_agent_config, s3_test_env, tmp_path: Path
) -> None:
    video = make_video(n_frames=30, fps=10.0)
    camera = {
        "camera_id": "door",
        "source": {"kind": "video", "uri": str(video), "realtime": True, "loop": True},
    }
    config = write_agent_config([camera], s3_store(moto_s3), detector={"model_path": str(fake_model_path)})
    env = {**os.environ, **s3_test_env}
    rng = random.Random(7)
    outbox = tmp_path / "data" / "outbox"
    for kill in range(10):
        proc = subprocess.Popen(
            agent_cmd(config), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if kill == 0:
            # the first kill waits for a kept sample (a loaded machine starts slowly), so there is
            # always something to lose; the other nine land wherever the agent happens to be
            wait_for(lambda: _kept_samples(outbox) > 0, timeout=120, what="the first kept sample")
        time.sleep(rng.uniform(1.0, 2.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        print(f"SIGKILL {kill + 1}/10 done", flush=True)
    ledger = read_ledger(tmp_path / "data" / "outbox")
    assert any(k.startswith("samples/") for k in ledger), "no sample was kept before the kills"
    # a final clean run over the same clip resumes the spool and drains it
    final = write_agent_config(
        [{**camera, "source": {"kind": "video", "uri": str(video)}}],
        s3_store(moto_s3),
        name="final.yaml",
        detector={"model_path": str(fake_model_path)},
    )
    proc = subprocess.run(
        agent_cmd(final, "--until-sources-end"),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    kept = assert_store_matches_ledger(moto_s3, tmp_path / "data")
    assert set(ledger) & kept == {k for k in ledger if k.startswith("samples/") and ledger[k] != "evicted"}


def _kept_samples(outbox: Path) -> int:
    """Samples in the outbox ledger so far (0 while the agent has not created it yet)."""
    try:
        return sum(k.startswith("samples/") for k in read_ledger(outbox))
    except Exception:  # not created yet, or locked for a moment by the writer
        return 0


def wait_for(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def publish(moto_s3, version: str, data: bytes, release_id: str, sha256: str | None = None) -> None:
    moto_s3.put(model_key(version), data)
    ref = ModelRef(
        model_version=version,
        uri=model_key(version),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        imgsz=64,
    )
    moto_s3.put(MANIFEST_KEY, ReleaseManifest(release_id=release_id, champion=ref).to_json().encode())


def run_in_thread(agent: EdgeAgent) -> threading.Thread:
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    return thread


def test_sha256_mismatch_keeps_the_old_model(
    moto_s3, make_image_folder, make_yolo_onnx, write_agent_config, unused_port, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    port = unused_port()
    folder = make_image_folder(n=5)
    config = write_agent_config(
        [
            {
                "camera_id": "hall",
                "gate": {"target_fps": 5},
                "source": {
                    "kind": "folder",
                    "uri": str(folder),
                    "loop": True,
                    "realtime": True,
                    "folder_fps": 10,
                },
            }
        ],
        s3_store(moto_s3),
        http={"enabled": True, "port": port},
    )
    publish(
        moto_s3,
        "v1",
        make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.9, 0.05, 0.05))], name="v1.onnx").read_bytes(),
        "r1",
    )
    agent = EdgeAgent(load_config(config))
    thread = run_in_thread(agent)
    try:
        wait_for(lambda: agent.holders["hall"].current().model_version == "v1", what="model v1")
        v2 = make_yolo_onnx([((8.0, 8.0, 40.0, 40.0), (0.1, 0.8, 0.1))], name="v2.onnx").read_bytes()
        publish(moto_s3, "v2", v2, "r2", sha256=hashlib.sha256(b"something else").hexdigest())
        wait_for(
            lambda: any(getattr(r, "event", "") == "model_refused" for r in caplog.records), what="refusal"
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert 'maskops_edge_model_refusals_total{reason="sha256_mismatch"} 1.0' in metrics
        # a manifest without variants was measured at fp32: that is what runs, on any CPU
        info = 'maskops_edge_model_info{camera="hall",model_version="v1",precision="fp32",runtime="openvino"}'
        assert f"{info} 1.0" in metrics
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = json.loads(response.read())
        assert health["cameras"]["hall"]["model_version"] == "v1"
        assert (health["cameras"]["hall"]["runtime"], health["cameras"]["hall"]["precision"]) == (
            "openvino",
            "fp32",
        )
        before = agent.workers[0].counters.frames_analysed
        wait_for(
            lambda: agent.workers[0].counters.frames_analysed > before + 2, what="frames on the old model"
        )
        assert agent.holders["hall"].current().model_version == "v1"
        refused = [r for r in caplog.records if getattr(r, "event", "") == "model_refused"]
        assert len(refused) == 1 and "sha256" in refused[0].getMessage()
    finally:
        agent.request_stop()
        thread.join(timeout=30)


def test_corrupt_video_and_dead_rtsp_do_not_stop_other_cameras(
    tmp_path: Path, make_image_folder, write_agent_config, unused_port, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    folder = make_image_folder(n=5)
    config = write_agent_config(
        [
            {
                "camera_id": "good",
                "source": {
                    "kind": "folder",
                    "uri": str(folder),
                    "loop": True,
                    "realtime": True,
                    "folder_fps": 20,
                },
            },
            {"camera_id": "broken-file", "source": {"kind": "video", "uri": str(corrupt)}},
            {
                "camera_id": "dead-rtsp",
                "source": {
                    "kind": "stream",
                    "uri": f"rtsp://127.0.0.1:{unused_port()}/x",
                    "reconnect_initial_s": 0.1,
                    "reconnect_max_s": 0.3,
                    "open_timeout_s": 1,
                },
            },
        ],
        {"kind": "local", "root": str(tmp_path / "store")},
    )
    agent = EdgeAgent(load_config(config))
    thread = run_in_thread(agent)
    try:
        good = agent.workers[0]
        wait_for(lambda: good.counters.frames_read > 5, what="frames from the good camera")
        wait_for(
            lambda: any(getattr(r, "camera_id", "") == "dead-rtsp" for r in caplog.records), what="rtsp line"
        )
        time.sleep(1.5)  # several more reconnects of the dead stream
        seen = good.counters.frames_read
        wait_for(lambda: good.counters.frames_read > seen + 5, what="the good camera to keep going")
        ours = [r for r in caplog.records if r.name == "edge_agent.camera" and r.levelno >= logging.ERROR]
        per_camera = {
            cam: [r for r in ours if getattr(r, "camera_id", "") == cam]
            for cam in ("broken-file", "dead-rtsp", "good")
        }
        assert len(per_camera["broken-file"]) == 1
        assert str(corrupt) in per_camera["broken-file"][0].getMessage()
        assert len(per_camera["dead-rtsp"]) == 1
        assert "rtsp://127.0.0.1" in per_camera["dead-rtsp"][0].getMessage()
        assert per_camera["good"] == []
        healthy, body = agent.health()
        assert not healthy
        assert body["cameras"]["good"]["status"] == "running"
        assert body["cameras"]["broken-file"]["status"] == "failed"
        assert body["cameras"]["dead-rtsp"]["status"] in ("reconnecting", "starting")
    finally:
        agent.request_stop()
        thread.join(timeout=30)
    assert not thread.is_alive()
