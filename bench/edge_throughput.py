"""Edge throughput: the agent against a plain ultralytics loop and against its own runtime.

All figures come from ONE run on the same video and the same trained weights:

(a) frames analysed per second by the agent (the real ``maskops-edge run --until-sources-end``
    CLI as a subprocess: video source, gate open wide enough to analyse every frame, sampler,
    telemetry and a local-folder store all on) vs ``YOLO("model.pt").predict(frame)`` per
    frame over the same video. Target: >= 3x.
(b) the agent's rate vs its detector runtime's forward pass alone (the same backend class the
    agent loads, OpenVINO or ONNX Runtime per ``--runtime``, on a pre-letterboxed tensor), same
    thread count. Target: >= 0.8x.
(c) the agent subprocess's peak RSS with one camera (local store, model sync off). Target: < 400 MB.
(d) its peak RSS in the real configuration: one camera on the video at its recorded pace, OpenVINO,
    an S3 store (moto's server on loopback, started and stopped here) under a key prefix, model
    sync on with no model configured: the bench publishes a release (model + manifest) and then
    ``--releases - 1`` more while frames flow, each a hot swap. Target: < 400 MB. A picture of both
    runs' resident memory over time is written to ``--out/rss_round<N>.png``.

(e) on OpenVINO: the agent on the release's INT8 model (``model_int8.zip``, NNCF post-training
    quantization calibrated on the training images exactly as a release is) vs the agent on the
    fp32 model, side by side in each round. Target: >= 1.5x, with the INT8 mAP50 drop on the test
    split, measured through the edge pipeline as the release gate does, <= 0.01 (printed beside it).
    ``--no-int8`` skips it. With it, (b) is also checked for INT8: the agent on the INT8 model vs
    the INT8 forward pass as the agent runs it, >= 0.8x (``--int8-ratio-only`` measures only this
    and the per-stage costs).
(f) shadow mode: the agent following a release (local store, model sync on) whose ``shadow`` names
    a second model (the same network, its own sha256) for its camera at a 10% frame share, vs the
    agent on the same release without the shadow, side by side in each round. Target: the shadow
    costs the camera's model at most 10% of its frame rate. The shadow's frames compared and
    dropped (its worker was busy) are printed beside it. The camera analyses as fast as the box
    allows, so the shadow (at ``shadow.nice`` 19) gets little CPU and drops most of its frames.
(g) the peak RSS of that agent, one camera and a shadow model. Target: < 400 MB.
    ``--no-shadow`` skips (f) and (g); ``--shadow-only`` measures only them.

Every run that measures speed first prints the per-stage costs of the agent's own per-frame work
(``measure_stages``: decode, letterbox, post-processing/NMS, thumbnail, frame statistics, hash,
sampler, sample package, telemetry), in wall and thread-CPU ms a frame.

The box is shared, so the three are measured in interleaved rounds (``--rounds``, default 3),
each in its own process; ratios are paired within a round and the median round is quoted
(the agent's rate is its steady state, first to last analysed frame); every round is printed.
Both ultralytics (torch) and the agent's detector get ``os.cpu_count()`` threads. Weights are
trained once (YOLOv8n from ``yolov8n.yaml``, a few epochs on synthetic scenes: accuracy does
not matter here) and cached under ``--out`` so a rerun skips training.

    .venv/bin/python bench/edge_throughput.py --frames 300 --imgsz 320
    .venv/bin/python bench/edge_throughput.py --memory-only --model model.onnx   # (c), (d), (f), (g)
    .venv/bin/python bench/edge_throughput.py --int8-ratio-only --frames 1200 --rounds 5  # stages, INT8 (b)
    .venv/bin/python bench/edge_throughput.py --shadow-only --rounds 5                      # (f), (g)

Exit code 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET_VS_ULTRALYTICS = 3.0
TARGET_VS_FORWARD = 0.8
TARGET_RSS_MB = 400.0
#: the frame share a shadow runs on in (f), and the share of the frame rate it may cost at most
SHADOW_SHARE = 0.10
TARGET_SHADOW_COST = 0.10
TARGET_INT8_SPEEDUP = 1.5
TARGET_INT8_MAX_DROP = 0.01


def _say(message: str) -> None:
    print(message, flush=True)


def isolated(fn, *args, **kwargs):
    """Run ``fn`` in a fresh interpreter (spawn) so torch, its threads and the training memory
    never share a process with what is measured next."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def ensure_weights(out: Path, *, imgsz: int, epochs: int, n_images: int, threads: int) -> tuple[Path, Path]:
    """model.pt and model.onnx (exported as maskops releases it) under ``out/weights-<settings>``;
    trained and exported only when missing."""
    weights = out / f"weights-{imgsz}px-{epochs}ep-{n_images}img"
    pt, onnx_path = weights / "model.pt", weights / "model.onnx"
    if pt.is_file() and onnx_path.is_file() and (weights / "metadata.json").is_file():
        _say(f"[weights] cached: {pt} and {onnx_path.name}")
        return pt, onnx_path
    isolated(train_and_export, out, weights, imgsz=imgsz, epochs=epochs, n_images=n_images, threads=threads)
    return pt, onnx_path


def train_and_export(
    out: Path, weights: Path, *, imgsz: int, epochs: int, n_images: int, threads: int
) -> None:
    """Train with the platform's trainer and export with its release exporter (dynamic-shape
    ONNX), so the bench runs what a camera would be sent."""
    from maskops_assets.synthetic.dataset import generate_dataset
    from maskops_assets.training.export import export_onnx
    from maskops_assets.training.trainer import TrainConfig, train_detector

    _say(f"[weights] generating {n_images} synthetic images at {imgsz}px")
    data_yaml = generate_dataset(out / "data", n_images, image_size=imgsz, seed=0, overwrite=True)
    cfg = TrainConfig(epochs=epochs, imgsz=imgsz, batch=8, nbs=8, threads=threads)
    _say(f"[weights] training yolov8n.yaml for {epochs} epochs, enough for real detections (so decoding, "
         "sampling and sample upload run as on a camera)")
    result = train_detector(
        data_yaml, cfg, out / "runs",
        progress=lambda p: _say(f"[weights] epoch {p.epoch}/{p.epochs} mAP50 {p.metrics.get('map50', 0):.3f}")
    )
    exported = export_onnx(result.weights, weights, imgsz=imgsz, model_version="bench",
                           settings_dir=out / "ultralytics")
    _say(f"[weights] exported {exported.onnx} (mAP50 {result.metrics.get('map50', 0):.3f} on val)")


def ensure_int8(onnx_path: Path, data_yaml: Path, imgsz: int, calibration: int) -> Path:
    """``model_int8.zip`` beside ``onnx_path``, quantized as a release quantizes it; made only
    when missing or older than the model."""
    from maskops_assets.training.quantize import MODEL_INT8

    int8 = onnx_path.with_name(MODEL_INT8)
    if int8.is_file() and int8.stat().st_mtime >= onnx_path.stat().st_mtime:
        _say(f"[int8] cached: {int8}")
        return int8
    return Path(isolated(quantize_for_bench, onnx_path, data_yaml, imgsz, calibration))


def quantize_for_bench(onnx_path: Path, data_yaml: Path, imgsz: int, calibration: int) -> str:
    from maskops_assets.training.quantize import MODEL_INT8, calibration_images, quantize_onnx

    images = calibration_images(data_yaml, calibration)
    _say(f"[int8] quantizing {onnx_path.name} with NNCF on {len(images)} training images of {data_yaml}")
    out = onnx_path.with_name(MODEL_INT8)
    quantized = quantize_onnx(
        onnx_path, images, out, imgsz=imgsz, progress=lambda line: _say(f"[int8] {line}")
    )
    return str(quantized.path)


def measure_int8_accuracy(
    onnx_path: Path, int8_path: Path, data_yaml: Path, imgsz: int
) -> tuple[float, float]:
    """mAP50 of the fp32 and the INT8 model on the test split through the edge pipeline on
    OpenVINO, as the release gate measures them."""
    from maskops_assets.evaluation.metrics import EdgeSettings, evaluate_on_edge

    settings = EdgeSettings(runtime="openvino", precision="fp32")
    scores = [
        evaluate_on_edge(path, data_yaml, "test", imgsz=imgsz, settings=settings, latency_runs=0,
                         progress=lambda line: _say(f"[int8] {line}")).map50
        for path in (onnx_path, int8_path)
    ]
    return scores[0], scores[1]


def ensure_video(out: Path, n_frames: int) -> Path:
    path = out / f"video_{n_frames}.mp4"
    if path.is_file():
        return path
    from maskops_assets.synthetic.video import generate_video

    _say(f"[video] rendering {n_frames} frames at 640x480")
    return generate_video(path, n_frames=n_frames, fps=15.0, seed=1, size=(640, 480)).video


def read_frames(video: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise SystemExit(f"error: no frame could be read from {video}")
    return frames


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _agent_command(config_path: Path) -> list[str]:
    cli = Path(sys.executable).with_name("maskops-edge")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "edge_agent"]
    return [*command, "run", "--config", str(config_path), "--until-sources-end"]


def run_agent(
    config: dict,
    run_dir: Path,
    *,
    env: dict[str, str] | None = None,
    during: Callable[[subprocess.Popen], None] | None = None,
) -> dict:
    """Run the agent CLI on ``config`` until its sources end; its summary, wall time and peak RSS.

    ``during`` runs in a thread while the agent runs (the real configuration publishes releases
    from it); an error it raises fails the measure."""
    import psutil

    config_path = run_dir / "agent.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = _agent_command(config_path)
    _say(f"[agent] {' '.join(command)}")

    peak = 0
    timeline: list[tuple[float, float]] = []  # (seconds since start, resident MB)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    done = threading.Event()

    def poll_rss() -> None:
        # VmHWM is the kernel's own peak RSS of the process since exec, so polling cannot miss a
        # short spike; plain RSS is the fallback where /proc lacks it.
        nonlocal peak
        status = Path(f"/proc/{proc.pid}/status")
        handle = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                lines = status.read_text().splitlines()
                hwm = [line for line in lines if line.startswith("VmHWM:")]
                current = int(hwm[0].split()[1]) * 1024 if hwm else handle.memory_info().rss
                rss = [int(line.split()[1]) * 1024 for line in lines if line.startswith("VmRSS:")]
            except (OSError, psutil.Error, ValueError, IndexError):
                return
            peak = max(peak, current)
            timeline.append((time.perf_counter() - started, (rss[0] if rss else current) / 2**20))
            time.sleep(0.05)

    errors: list[BaseException] = []

    def drive() -> None:
        try:
            assert during is not None
            during(proc)
        except BaseException as err:  # reported after the agent is stopped
            errors.append(err)
            proc.terminate()

    threads = [threading.Thread(target=poll_rss, daemon=True)]
    if during is not None:
        threads.append(threading.Thread(target=drive, daemon=True))
    for thread in threads:
        thread.start()
    stdout, stderr = proc.communicate()
    done.set()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    summaries = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"event": "summary"')]
    if proc.returncode != 0 or not summaries:
        tail = "\n".join(stderr.splitlines()[-20:])
        raise SystemExit(f"error: the agent exited with {proc.returncode} and no summary line:\n{tail}")
    return {
        "summary": summaries[-1],
        "wall_s": wall,
        "peak_rss_mb": peak / 2**20,
        "timeline": timeline,
        "started": started,
        "stderr": stderr,
    }


def measure_agent(onnx_path: Path, video: Path, out: Path, threads: int, runtime: str) -> dict:
    """Run the agent CLI to the end of the video (local store, sync off); its rate, summary and
    peak RSS."""
    run_dir = out / "agent_run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    config = {
        "agent_id": "bench",
        "data_dir": str(run_dir / "data"),
        "cameras": [
            {
                "camera_id": "bench-cam",
                "source": {"kind": "video", "uri": str(video)},
                "gate": {"target_fps": 1000.0},  # analyse every frame of the 15 fps video
            }
        ],
        "detector": {
            "runtime": runtime,
            "threads": threads,
            "model_path": str(onnx_path),
            "model_version": "bench",
        },
        "store": {"kind": "local", "root": str(run_dir / "store")},
        "model_sync": {"enabled": False},
        "http": {"port": _free_port()},
    }
    result = run_agent(config, run_dir)
    camera = result["summary"]["cameras"]["bench-cam"]
    if camera["frames_analysed"] < 2:
        tail = "\n".join(result["stderr"].splitlines()[-5:])
        raise SystemExit(f"error: the agent analysed {camera['frames_analysed']} frames:\n{tail}")
    # steady state: first to last analysed frame, so process start-up, model loading and
    # the final outbox drain (fixed costs, not per-frame work) do not dilute the rate
    result["fps"] = (camera["frames_analysed"] - 1) / camera["analysing_s"]
    return result


def measure_shadow(onnx_path: Path, video: Path, out: Path, threads: int, runtime: str, imgsz: int,
                   *, shadow: bool) -> dict:
    """The agent following a release from a local store (model sync on) to the end of the video,
    with or without a shadow model at ``SHADOW_SHARE`` on its camera; its rate, summary and peak RSS."""
    from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest, model_key, sha256_file
    from maskops_contracts.manifest import ShadowModel
    from maskops_store import LocalStore

    run_dir = out / ("shadow_run" if shadow else "shadow_off_run")
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    store = LocalStore(run_dir / "store")
    refs = []
    for n, model in enumerate(release_models(onnx_path, run_dir / "releases", 2), start=1):
        key = model_key(f"bench-v{n}")
        store.put_bytes(key, model.read_bytes(), "application/octet-stream")
        refs.append(ModelRef(model_version=f"bench-v{n}", uri=key, sha256=sha256_file(model), imgsz=imgsz))
    champion, candidate = refs
    twin = None
    if shadow:
        twin = ShadowModel(**candidate.__dict__, cameras=("bench-cam",), frame_share=SHADOW_SHARE)
    manifest = ReleaseManifest(release_id="bench-r1", champion=champion, shadow=twin)
    store.put_bytes(MANIFEST_KEY, manifest.to_json().encode(), "application/json")
    config = {
        "agent_id": "bench",
        "data_dir": str(run_dir / "data"),
        "cameras": [
            {
                "camera_id": "bench-cam",
                "source": {"kind": "video", "uri": str(video)},
                "gate": {"target_fps": 1000.0},  # analyse every frame of the 15 fps video
            }
        ],
        "detector": {"runtime": runtime, "threads": threads},
        "store": {"kind": "local", "root": str(run_dir / "store")},
        "model_sync": {"enabled": True, "poll_interval_s": 3600},
        "http": {"port": _free_port()},
    }
    # CPU seconds the agent used (user + system, all its threads): a box's other load changes the
    # frame rate a lot from run to run, the CPU the agent itself spends far less
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_agent(config, run_dir)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    camera = result["summary"]["cameras"]["bench-cam"]
    if camera["frames_analysed"] < 2:
        tail = "\n".join(result["stderr"].splitlines()[-5:])
        raise SystemExit(f"error: the agent analysed {camera['frames_analysed']} frames:\n{tail}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["cpu_ms_per_frame"] = 1000.0 * cpu_s / camera["frames_analysed"]
    if shadow and not camera.get("shadow"):
        raise SystemExit("error: the agent reported no shadow figures for bench-cam")
    result["fps"] = (camera["frames_analysed"] - 1) / camera["analysing_s"]
    result["shadow"] = camera.get("shadow")
    shutil.rmtree(run_dir / "releases", ignore_errors=True)
    return result


REAL_CAMERA = "bench-cam"
#: the key prefix the real configuration's store uses (a bucket shared by several sites)
REAL_PREFIX = "site-bench"
REAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def release_models(onnx_path: Path, out: Path, n: int) -> list[Path]:
    """``n`` copies of the model that differ only in one metadata entry, so each has its own sha256
    and is its own release; the graph, and so what compiling and running it costs, is the same."""
    import onnx

    model = onnx.load(str(onnx_path))
    exported = {prop.key: prop.value for prop in model.metadata_props}
    paths = []
    for i in range(1, n + 1):
        del model.metadata_props[:]
        onnx.helper.set_model_props(model, {**exported, "maskops_bench_release": str(i)})
        path = out / f"release-{i}" / "model.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(path))
        paths.append(path)
    return paths


class ReleasePublisher:
    """Writes models and release manifests into the bucket the way the platform's release does."""

    def __init__(self, store, imgsz: int) -> None:
        self.store, self.imgsz = store, imgsz

    def publish(self, n: int, model: Path) -> str:
        from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest, model_key, sha256_file

        version = f"bench-v{n}"
        key = model_key(version)
        self.store.put_bytes(key, model.read_bytes(), "application/octet-stream")
        ref = ModelRef(model_version=version, uri=key, sha256=sha256_file(model), imgsz=self.imgsz)
        manifest = ReleaseManifest(
            release_id=f"bench-r{n}", champion=ref, previous_release_id=f"bench-r{n - 1}" if n > 1 else None
        )
        self.store.put_bytes(MANIFEST_KEY, manifest.to_json().encode(), "application/json")
        return version


def _camera_health(port: int) -> dict | None:
    """The bench camera's part of the agent's /healthz (None while it does not answer)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            body = response.read()
    except urllib.error.HTTPError as err:  # 503: degraded, the body still says what runs
        body = err.read()
    except OSError:
        return None
    return json.loads(body)["cameras"].get(REAL_CAMERA)


def drive_swaps(
    proc: subprocess.Popen, port: int, publisher: ReleasePublisher, models: list[Path], swaps: list[dict]
) -> None:
    """Publish the first release, then each next one once the camera has analysed frames with the
    model before: every release after the first is a hot swap while frames flow."""
    frames_each = 30
    for n, model in enumerate(models, start=1):
        version = publisher.publish(n, model)
        published = time.perf_counter()
        _say(f"[real] published release bench-r{n} ({version})")
        deadline = published + 180.0
        seen_at = None
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"error: the agent ended before it ran {version} on {frames_each} frames; "
                    "give it a longer video (--frames)"
                )
            if time.perf_counter() > deadline:
                raise SystemExit(f"error: the agent did not run {version} within 180 s of its release")
            health = _camera_health(port)
            if health and health["model_version"] == version:
                if seen_at is None:
                    seen_at = (time.perf_counter(), health["frames_analysed"])
                    swaps.append({"model_version": version, "published": published, "running": seen_at[0]})
                    _say(f"[real] the camera runs {version} {seen_at[0] - published:.1f} s after its release")
                elif health["frames_analysed"] - seen_at[1] >= frames_each:
                    break
            time.sleep(0.2)


def measure_real_config(
    onnx_path: Path, video: Path, out: Path, threads: int, runtime: str, imgsz: int, releases: int
) -> dict:
    """The agent as a camera box runs it: one camera on a video played at its recorded pace, an S3
    store (moto's server on loopback) under a key prefix, model sync on and no model in the config:
    the first release brings the model, each later one is hot-swapped while frames flow. Its peak
    RSS is what the box must have."""
    from moto.server import ThreadedMotoServer

    from maskops_store import S3Store

    run_dir = out / "real_run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    models = release_models(onnx_path, run_dir / "releases", releases)
    s3_port, http_port = _free_port(), _free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    server.start()
    _say(f"[real] S3 (moto) on {endpoint}, bucket maskops-bench, prefix {REAL_PREFIX}/")
    saved_env = {key: os.environ.get(key) for key in REAL_CREDENTIALS}
    os.environ.update(REAL_CREDENTIALS)
    try:
        import boto3

        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="maskops-bench")
        store = S3Store("maskops-bench", REAL_PREFIX, endpoint)
        config = {
            "agent_id": "bench-real",
            "data_dir": str(run_dir / "data"),
            "cameras": [
                {
                    "camera_id": REAL_CAMERA,
                    # recorded pace, so releases land while frames flow; every frame analysed
                    "source": {"kind": "video", "uri": str(video), "realtime": True},
                    "gate": {"target_fps": 1000.0},
                }
            ],
            "detector": {"runtime": runtime, "threads": threads},
            "store": {
                "kind": "s3", "bucket": "maskops-bench", "prefix": REAL_PREFIX, "endpoint_url": endpoint
            },
            "model_sync": {"enabled": True, "poll_interval_s": 1.0},
            "http": {"port": http_port},
        }
        swaps: list[dict] = []
        publisher = ReleasePublisher(store, imgsz)
        result = run_agent(
            config,
            run_dir,
            env={**os.environ, **REAL_CREDENTIALS},
            during=lambda proc: drive_swaps(proc, http_port, publisher, models, swaps),
        )
        uploaded = len(store.list_keys("samples/", limit=100_000))
    finally:
        server.stop()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result["swaps"] = [
        {
            "model_version": swap["model_version"],
            "published_s": swap["published"] - result["started"],
            "running_s": swap["running"] - result["started"],
        }
        for swap in swaps
    ]
    result["samples_in_bucket"] = uploaded
    return result


def plot_rss(local: dict, real: dict, path: Path) -> Path | None:
    """Resident memory over time of both agent runs, releases marked; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for run, label in ((local, "local store, sync off"), (real, "real configuration")):
        if run["timeline"]:
            xs, ys = zip(*run["timeline"], strict=True)
            ax.plot(xs, ys, label=f"{label} (peak {run['peak_rss_mb']:.0f} MB)")
    for swap in real["swaps"]:
        ax.axvline(swap["published_s"], color="grey", linestyle=":", linewidth=1)
        ax.axvline(swap["running_s"], color="grey", linestyle="--", linewidth=1)
        ax.annotate(swap["model_version"], (swap["running_s"], ax.get_ylim()[0]), rotation=90,
                    fontsize=8, va="bottom", ha="right")
    ax.axhline(TARGET_RSS_MB, color="red", linewidth=1, label=f"target {TARGET_RSS_MB:.0f} MB")
    ax.set_xlabel("seconds since the agent started (dotted: release published, dashed: camera runs it)")
    ax.set_ylabel("resident memory (MB)")
    ax.set_title("maskops-edge resident memory, one camera, OpenVINO")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def measure_forward(
    onnx_path: Path, frame: np.ndarray, threads: int, n: int, runtime: str
) -> tuple[float, str]:
    """The runtime's own forward-pass rate, configured and fed as the agent runs it: the same
    detector loader and config (threads, streams), the frame letterboxed to the input shape the
    agent uses for it, and as many passes kept in flight as the agent keeps (twice the streams).
    Nothing but forward passes."""
    from edge_agent.detector import DetectorConfig, load_detector
    from edge_agent.detector.letterbox import letterbox

    cfg = DetectorConfig(runtime=runtime, threads=threads)
    detector = load_detector(onnx_path, model_version="bench", cfg=cfg)
    backend = detector.backend
    shape = detector.input_shape_for(frame.shape[:2])
    boxed, _ = letterbox(frame, shape)
    streams = detector.streams
    depth = 2 * streams
    in_flight = [backend.submit(boxed) for _ in range(depth)]
    for _ in range(3 * depth):  # warm up
        in_flight.pop(0).result()
        in_flight.append(backend.submit(boxed))
    start = time.perf_counter()
    for _ in range(n):
        in_flight.pop(0).result()
        in_flight.append(backend.submit(boxed))
    for pending in in_flight:
        pending.result()
    elapsed = time.perf_counter() - start
    how = f"{shape[0]}x{shape[1]} input, {streams} stream(s), {depth} in flight, {threads} threads"
    return (n + depth) / elapsed, how


#: the agent's own per-frame work, in the order a frame meets it (the forward pass is not one)
AGENT_STAGES = ("decode", "letterbox", "post-processing/NMS", "thumbnail", "frame statistics",
                "hash (dhash)", "sampler", "sample package", "telemetry")


def measure_stages(model_path: Path, video: Path, threads: int, runtime: str) -> dict:
    """The cost of each stage of the agent's own per-frame work over every frame of ``video``,
    with the agent's own functions, one frame at a time on one thread: wall and CPU ms a frame.

    Stages: decode (``cv2.VideoCapture.read``, as the video source reads), letterbox, post-processing
    (decode of the output with NMS, boxes mapped back), the shared thumbnail, the frame statistics
    on it, the near-duplicate hash (of the frames the sampler hashes: a rule fired, within budget),
    the sampler's decision less its hashing, the JPEG package of kept frames and telemetry (the row, and its
    share of encoding a batch of rows to parquet), both amortised over all frames. The forward
    pass runs too (its output feeds post-processing) and is reported apart: the runtime's work.
    CPU is this thread's own (``time.thread_time``): process CPU would charge the runtime's
    threads, still spinning after a pass, to the stage that follows it; FFmpeg's own decoding
    threads, if any, are not in it either (the wall time is).
    """
    from datetime import UTC, datetime, timedelta

    from edge_agent import sampler as sampling
    from edge_agent.detector import DetectorConfig, load_detector
    from edge_agent.detector.letterbox import letterbox, letterbox_scaled
    from edge_agent.detector.types import DetectionResult
    from edge_agent.frame_stats import compute_frame_stats, telemetry_row
    from edge_agent.frames import THUMBNAIL_SIDE, Frame
    from edge_agent.gate import GateDecision
    from edge_agent.sample_package import package_sample
    from edge_agent.sampler import Sampler, SamplerConfig, dhash
    from edge_agent.shrink import shrink
    from edge_agent.telemetry import TelemetryConfig, rows_to_parquet

    cfg = DetectorConfig(runtime=runtime, threads=threads)
    detector = load_detector(model_path, model_version="bench", cfg=cfg)
    backend = detector.backend
    sampler = Sampler(SamplerConfig(), "bench-cam")
    batch_rows = TelemetryConfig().batch_rows
    wall = dict.fromkeys((*AGENT_STAGES, "forward"), 0.0)
    cpu = dict(wall)

    def timed(stage: str, fn: Callable, *args, **kwargs):
        w, c = time.perf_counter(), time.thread_time()
        value = fn(*args, **kwargs)
        wall[stage] += time.perf_counter() - w
        cpu[stage] += time.thread_time() - c
        return value

    # Warm up as the agent does before its cameras start (detector warm-up, pyarrow's lazy parts
    # by TelemetryBatcher.warm_up): one-off costs are not per-frame work.
    cap = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    ok, first = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"error: no frame could be read from {video}")
    boxed, info = letterbox(first, detector.input_shape_for(first.shape[:2]))
    detector._decode(backend.submit(boxed).result()[0], info)
    thumbnail = shrink(first, THUMBNAIL_SIDE)
    compute_frame_stats(thumbnail)
    dhash(thumbnail)
    rows_to_parquet([])

    # the sampler hashes a frame only when a rule fired and the budget allows: time its calls
    sampling.dhash = lambda image, *args: timed("hash (dhash)", dhash, image, *args)
    cap = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows, n = [], 0
    while True:
        ok, image = timed("decode", cap.read)
        if not ok:
            break
        frame = Frame("bench-cam", n, image, start + timedelta(seconds=n / 15.0), str(video))
        shape = detector.input_shape_for(image.shape[:2])
        boxed, info, scaled = timed("letterbox", letterbox_scaled, image, shape)
        output, _ = timed("forward", lambda b=boxed: backend.submit(b).result())
        detections = timed("post-processing/NMS", detector._decode, output, info)
        result = DetectionResult(detections=detections, inference_ms=0.0)
        frame.thumbnail_from_scaled(scaled)  # as the camera worker does
        timed("thumbnail", frame.thumbnail)
        stats = timed("frame statistics", compute_frame_stats, frame.thumbnail())
        keep = timed("sampler", sampler.consider, frame, result, GateDecision(True, "admitted"))
        if keep is not None:
            timed("sample package", package_sample, "bench-cam", frame, result, keep, "bench",
                  jpeg_quality=90)
        rows.append(timed("telemetry", telemetry_row, frame, stats, result, "bench", runtime=runtime,
                          precision=detector.precision))
        if len(rows) == batch_rows:
            timed("telemetry", rows_to_parquet, rows)
            rows = []
        n += 1
    cap.release()
    sampling.dhash = dhash
    if rows:
        timed("telemetry", rows_to_parquet, rows)
    # the sampler's own time is its decision less the hashes it made (counted as hashing)
    wall["sampler"] -= wall["hash (dhash)"]
    cpu["sampler"] -= cpu["hash (dhash)"]
    if n == 0:
        raise SystemExit(f"error: no frame could be read from {video}")
    return {"frames": n, "kept": sampler.stats.kept_total,
            "wall_ms": {k: 1000 * v / n for k, v in wall.items()},
            "cpu_ms": {k: 1000 * v / n for k, v in cpu.items()}}


def print_stages(stages: dict, label: str) -> None:
    """The per-stage table: wall and CPU ms a frame, and each stage's share of the agent's own work."""
    own_wall = sum(stages["wall_ms"][s] for s in AGENT_STAGES)
    own_cpu = sum(stages["cpu_ms"][s] for s in AGENT_STAGES)
    _say(f"[stages] {label}: the agent's own per-frame work over {stages['frames']} frames, one thread")
    _say(f"[stages] {'stage':<22}{'wall ms':>9}{'CPU ms':>9}{'share':>8}")
    for stage in AGENT_STAGES:
        w, c = stages["wall_ms"][stage], stages["cpu_ms"][stage]
        _say(f"[stages] {stage:<22}{w:>9.3f}{c:>9.3f}{w / own_wall:>8.0%}")
    _say(f"[stages] {'agent own work, total':<22}{own_wall:>9.3f}{own_cpu:>9.3f}")
    _say(f"[stages] {'forward (not agent)':<22}{stages['wall_ms']['forward']:>9.3f}"
         f"{stages['cpu_ms']['forward']:>9.3f}   one pass at a time; {stages['kept']} frames kept")


def measure_ultralytics(pt: Path, video: Path, imgsz: int, out: Path, threads: int) -> float:
    frames = read_frames(video)
    from maskops_assets.training.ultralytics_env import prepare_ultralytics

    prepare_ultralytics(out / "ultralytics", threads=threads)
    from ultralytics import YOLO

    model = YOLO(str(pt))
    for frame in frames[:3]:
        model.predict(frame, imgsz=imgsz, device="cpu", verbose=False)
    start = time.perf_counter()
    for frame in frames:
        model.predict(frame, imgsz=imgsz, device="cpu", verbose=False)
    return len(frames) / (time.perf_counter() - start)


def int8_forward_check(pairs: list[tuple[float, float]]) -> tuple[str, str, str, bool]:
    """The check of the agent on INT8 against the INT8 forward pass: paired within a round,
    median round quoted."""
    agent_fps, forward_fps = sorted(pairs, key=lambda pair: pair[0] / pair[1])[len(pairs) // 2]
    ratio = agent_fps / forward_fps
    _say(f"{'agent CLI on INT8 vs INT8 forward':<36}{agent_fps:>10.1f}   vs forward {forward_fps:.1f}: "
         f"{ratio:.2f}x")
    return ("(b) agent INT8 / INT8 forward", f"{ratio:.2f}x", f">= {TARGET_VS_FORWARD}x",
            ratio >= TARGET_VS_FORWARD)


def int8_ratio_rounds(
    int8_path: Path, video: Path, frame: np.ndarray, args: argparse.Namespace, threads: int, runtime: str
) -> int:
    """``--int8-ratio-only``: per round the agent CLI on the INT8 model, bracketed by the INT8
    forward pass as the agent runs it before and after (each in its own process); the round's
    forward rate is the mean of the two, so a VM that speeds up or slows down during the round
    moves both sides alike. Exit code 1 when the median ratio misses."""
    pairs = []

    def forward_rate() -> tuple[float, str]:
        return isolated(measure_forward, int8_path, frame, threads, n=args.forward_runs, runtime=runtime)

    before, how = forward_rate()
    for r in range(1, args.rounds + 1):
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        agent = measure_agent(int8_path, video, args.out, threads, runtime)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
        analysed = agent["summary"]["cameras"]["bench-cam"]["frames_analysed"]
        after, how = forward_rate()
        forward = (before + after) / 2
        pairs.append((agent["fps"], forward))
        _say(f"[round {r}] agent on INT8 {agent['fps']:.1f} fps (CPU {1000 * cpu_s / analysed:.2f} ms "
             f"per analysed frame, whole run, start-up included) vs INT8 forward pass {forward:.1f} fps "
             f"(mean of {before:.1f} before and {after:.1f} after; {how}): {agent['fps'] / forward:.2f}x; "
             f"load average {os.getloadavg()[0]:.1f}")
        before = after
    _say("")
    name, value, target, ok = int8_forward_check(pairs)
    _say(f"{name:<30}{value:>10}   target {target:<10} {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def shadow_only_rounds(onnx_path: Path, video: Path, args: argparse.Namespace, threads: int,
                       runtime: str) -> int:
    """``--shadow-only``: per round the agent following a release without and with a shadow model at
    ``SHADOW_SHARE`` (the order alternates between rounds, so neither side always runs first);
    (f) and (g) on the median round. Exit code 1 when a target misses."""
    rounds = []
    for r in range(1, args.rounds + 1):
        setup = (onnx_path, video, args.out, threads, runtime, args.imgsz)
        order = (False, True) if r % 2 else (True, False)
        runs = {shadow: measure_shadow(*setup, shadow=shadow) for shadow in order}
        without, with_shadow = runs[False], runs[True]
        figures, on, off = with_shadow["shadow"], with_shadow["fps"], without["fps"]
        rounds.append((off, on, with_shadow["peak_rss_mb"]))
        _say(f"[round {r}] shadow at {SHADOW_SHARE:.0%}: camera model {on:.1f} fps with it vs {off:.1f} fps "
             f"without ({on / off:.2f}x; {'without' if order[0] is False else 'with'} first); shadow frames "
             f"offered {figures['frames_offered']}, compared {figures['frames_compared']}, dropped "
             f"{figures['frames_dropped']}, agreement {figures['agreement']}; CPU per analysed frame "
             f"{with_shadow['cpu_ms_per_frame']:.2f} vs {without['cpu_ms_per_frame']:.2f} ms (whole run); "
             f"peak RSS {with_shadow['peak_rss_mb']:.0f} MB (without {without['peak_rss_mb']:.0f} MB); "
             f"load average {os.getloadavg()[0]:.1f}")
    off_fps, on_fps, _ = sorted(rounds, key=lambda t: t[1] / t[0])[len(rounds) // 2]
    kept, shadow_rss = on_fps / off_fps, max(t[2] for t in rounds)
    checks = [
        (f"(f) shadow {SHADOW_SHARE:.0%} / no shadow", f"{kept:.2f}x", f">= {1 - TARGET_SHADOW_COST:.2f}x",
         kept >= 1 - TARGET_SHADOW_COST),
        ("(g) peak RSS, with a shadow", f"{shadow_rss:.0f} MB", f"< {TARGET_RSS_MB:.0f} MB",
         shadow_rss < TARGET_RSS_MB),
    ]
    _say("")
    for name, value, target, ok in checks:
        _say(f"{name:<30}{value:>10}   target {target:<10} {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for *_, ok in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "edge")
    parser.add_argument("--frames", type=int, default=600, help="frames in the benchmark video")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--train-images", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved measuring rounds (median quoted)")
    parser.add_argument("--forward-runs", type=int, default=300, help="forward passes per round")
    parser.add_argument("--runtime", choices=("auto", "onnxruntime", "openvino"), default="auto",
                        help="the agent's detector runtime (auto: OpenVINO where installed)")
    parser.add_argument("--releases", type=int, default=3,
                        help="releases published in the real configuration (all but the first are hot swaps)")
    parser.add_argument("--memory-only", action="store_true",
                        help="measure only the peak RSS, (c) and (d): no forward pass, no ultralytics")
    parser.add_argument("--no-int8", action="store_true",
                        help="skip (e), the agent on the INT8 model against the agent on fp32")
    parser.add_argument("--int8-calibration", type=int, default=300,
                        help="training images the INT8 model is calibrated on (0: all)")
    parser.add_argument("--no-shadow", action="store_true",
                        help="skip (f) and (g), the agent with a shadow model against the agent without")
    parser.add_argument("--int8-ratio-only", action="store_true",
                        help="measure only the per-stage costs and, per round, the agent on INT8 vs the INT8 "
                             "forward pass (OpenVINO; no accuracy, ultralytics, shadow or memory runs)")
    parser.add_argument("--shadow-only", action="store_true",
                        help="measure only (f) and (g): the agent with a shadow model at 10%% against "
                             "the agent without, per round (no forward pass, INT8, ultralytics or "
                             "memory runs)")
    parser.add_argument("--model", type=Path, default=None,
                        help="with --memory-only: an exported ONNX model to run instead of training one")
    args = parser.parse_args(argv)
    if args.model is not None and not (args.memory_only or args.shadow_only):
        parser.error("--model needs --memory-only: (a) compares against the model.pt trained beside it")
    if args.int8_ratio_only and (args.memory_only or args.no_int8):
        parser.error("--int8-ratio-only measures the INT8 model: not with --memory-only or --no-int8")
    if args.shadow_only and (args.int8_ratio_only or args.no_shadow):
        parser.error("--shadow-only measures the shadow: not with --int8-ratio-only or --no-shadow")
    if args.releases < 2:
        parser.error("--releases must be at least 2: the real configuration hot-swaps at least once")
    threads = os.cpu_count() or 1
    from edge_agent.detector.base import resolve_runtime

    runtime = resolve_runtime(args.runtime)
    args.out.mkdir(parents=True, exist_ok=True)

    if args.model is not None:
        pt, onnx_path = None, args.model.resolve()  # the agent resolves paths from its config's folder
    else:
        pt, onnx_path = ensure_weights(args.out, imgsz=args.imgsz, epochs=args.epochs,
                                       n_images=args.train_images, threads=threads)
    video = ensure_video(args.out, args.frames)
    frames = read_frames(video)
    if args.shadow_only:
        return shadow_only_rounds(onnx_path, video, args, threads, runtime)
    int8_path = None
    if not (args.memory_only or args.no_int8) and runtime == "openvino":
        data_yaml = args.out / "data" / "data.yaml"
        if not data_yaml.is_file():
            from maskops_assets.synthetic.dataset import generate_dataset

            data_yaml = generate_dataset(args.out / "data", args.train_images, image_size=args.imgsz, seed=0,
                                         overwrite=True)
        int8_path = ensure_int8(onnx_path, data_yaml, args.imgsz, args.int8_calibration)
        if not args.int8_ratio_only:
            fp32_map50, int8_map50 = isolated(measure_int8_accuracy, onnx_path, int8_path, data_yaml,
                                              args.imgsz)
            _say(f"[int8] mAP50 on the test split (edge pipeline, OpenVINO): fp32 {fp32_map50:.4f}, "
                 f"INT8 {int8_map50:.4f}, drop {fp32_map50 - int8_map50:+.4f}")
    elif args.int8_ratio_only:
        raise SystemExit(f"error: --int8-ratio-only needs OpenVINO, the agent runs {runtime}")
    elif not args.memory_only and not args.no_int8:
        _say(f"[int8] skipped: the release gate measures INT8 on OpenVINO, the agent runs {runtime}")
    int8_rates: list[tuple[float, float]] = []  # (agent fp32, agent INT8) per round
    int8_vs_forward: list[tuple[float, float]] = []  # (agent INT8, INT8 forward pass) per round
    shadow_rounds: list[tuple[float, float, float]] = []  # (fps without, fps with shadow, peak RSS with)
    _say(f"[setup] {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}, imgsz {args.imgsz}, "
         f"{threads} threads for torch and for the agent's runtime ({runtime})")

    # The box is shared, so other load comes and goes: measure in interleaved rounds, the
    # measures back to back in each, and compare within a round; every round is printed.
    if not args.memory_only:
        staged = int8_path if int8_path is not None else onnx_path
        stages = isolated(measure_stages, staged, video, threads, runtime)
        print_stages(stages, f"{staged.name} on {runtime} at imgsz {args.imgsz} (fresh process)")
    if args.int8_ratio_only:
        return int8_ratio_rounds(int8_path, video, frames[0], args, threads, runtime)
    rounds = []
    for r in range(1, args.rounds + 1):
        agent = measure_agent(onnx_path, video, args.out, threads, runtime)
        _say(f"[round {r}] agent summary: {json.dumps(agent['summary'])}")
        if int8_path is not None:
            agent_int8 = measure_agent(int8_path, video, args.out, threads, runtime)
            int8_rates.append((agent["fps"], agent_int8["fps"]))
            forward_int8, how = isolated(measure_forward, int8_path, frames[0], threads, n=args.forward_runs,
                                         runtime=runtime)
            int8_vs_forward.append((agent_int8["fps"], forward_int8))
            _say(f"[round {r}] agent on INT8 {agent_int8['fps']:.1f} fps vs INT8 forward pass "
                 f"{forward_int8:.1f} fps ({how}): {agent_int8['fps'] / forward_int8:.2f}x")
            _say(f"[round {r}] agent on INT8 {agent_int8['fps']:.1f} fps vs on fp32 {agent['fps']:.1f} fps: "
                 f"{agent_int8['fps'] / agent['fps']:.2f}x")
        if not args.no_shadow:
            setup = (onnx_path, video, args.out, threads, runtime, args.imgsz)
            without = measure_shadow(*setup, shadow=False)
            with_shadow = measure_shadow(*setup, shadow=True)
            figures, on, off = with_shadow["shadow"], with_shadow["fps"], without["fps"]
            shadow_rounds.append((off, on, with_shadow["peak_rss_mb"]))
            cpu_on, cpu_off = with_shadow["cpu_ms_per_frame"], without["cpu_ms_per_frame"]
            _say(f"[round {r}] agent CPU per analysed frame (whole run, start-up included): "
                 f"{cpu_on:.2f} ms with the shadow vs {cpu_off:.2f} ms without: on a CPU-bound box "
                 f"the camera would keep {cpu_off / cpu_on:.2f}x of its frame rate")
            _say(f"[round {r}] shadow at {SHADOW_SHARE:.0%}: camera model {on:.1f} fps with it vs "
                 f"{off:.1f} fps without ({on / off:.2f}x); shadow frames "
                 f"offered {figures['frames_offered']}, compared {figures['frames_compared']}, dropped "
                 f"{figures['frames_dropped']}, agreement {figures['agreement']}; peak RSS with the shadow "
                 f"{with_shadow['peak_rss_mb']:.0f} MB (without {without['peak_rss_mb']:.0f} MB)")
        _say(f"[round {r}] real configuration: S3 store under a prefix, model sync on, "
             f"{args.releases - 1} hot swap(s), video at its recorded pace")
        real = measure_real_config(onnx_path, video, args.out, threads, runtime, args.imgsz, args.releases)
        _say(f"[round {r}] real configuration summary: {json.dumps(real['summary'])}; "
             f"{real['samples_in_bucket']} samples in the bucket")
        for swap in real["swaps"]:
            _say(f"[round {r}] {swap['model_version']}: released at {swap['published_s']:.1f} s, "
                 f"running at {swap['running_s']:.1f} s")
        picture = plot_rss(agent, real, args.out / f"rss_round{r}.png")
        if picture is not None:
            _say(f"[round {r}] resident memory over time: {picture}")
        forward = ultra = float("nan")
        if not args.memory_only:
            _say(f"[round {r}] {runtime} forward pass on a pre-letterboxed tensor (fresh process)")
            forward, how = isolated(measure_forward, onnx_path, frames[0], threads, n=args.forward_runs,
                                    runtime=runtime)
            _say(f"[round {r}] forward pass as the agent runs it: {how}")
            _say(f"[round {r}] YOLO(model.pt).predict(frame) per frame (fresh process)")
            ultra = isolated(measure_ultralytics, pt, video, args.imgsz, args.out, threads)
        rounds.append((agent["fps"], forward, ultra, agent["peak_rss_mb"], real["peak_rss_mb"]))
        _say(f"[round {r}] agent {agent['fps']:.1f} fps, forward {forward:.1f} fps, "
             f"ultralytics {ultra:.1f} fps, agent peak RSS {agent['peak_rss_mb']:.0f} MB "
             f"(local store, sync off), {real['peak_rss_mb']:.0f} MB (real configuration)")
    peak_rss = max(r[3] for r in rounds)
    real_rss = max(r[4] for r in rounds)
    checks = []
    if not args.memory_only:
        # Ratios are paired within a round (the measures ran back to back under the same load)
        # and the median round is quoted; the rates shown are that round's.
        by_ratio = sorted(rounds, key=lambda r: r[0] / r[2])
        agent_fps, forward_fps, ultra_fps, *_ = by_ratio[len(by_ratio) // 2]
        vs_ultra = agent_fps / ultra_fps
        vs_forward = statistics.median(r[0] / r[1] for r in rounds)
        checks += [
            ("(a) agent / ultralytics", f"{vs_ultra:.2f}x", f">= {TARGET_VS_ULTRALYTICS}x",
             vs_ultra >= TARGET_VS_ULTRALYTICS),
            ("(b) agent / forward pass", f"{vs_forward:.2f}x", f">= {TARGET_VS_FORWARD}x",
             vs_forward >= TARGET_VS_FORWARD),
        ]
        _say("")
        _say(f"{'measure (median round of ' + str(args.rounds) + ')':<36}{'frames/s':>10}")
        _say(f"{'agent CLI (whole pipeline)':<36}{agent_fps:>10.1f}")
        _say(f"{runtime + ' forward pass only':<36}{forward_fps:>10.1f}")
        _say(f"{'ultralytics predict per frame':<36}{ultra_fps:>10.1f}")
    if int8_rates:
        # paired within a round, median round quoted, the mAP50 drop printed beside the speed-up
        fp32_fps, int8_fps = sorted(int8_rates, key=lambda pair: pair[1] / pair[0])[len(int8_rates) // 2]
        speedup, drop = int8_fps / fp32_fps, fp32_map50 - int8_map50
        _say(f"{'agent CLI on INT8 (OpenVINO)':<36}{int8_fps:>10.1f}   vs fp32 {fp32_fps:.1f}: "
             f"{speedup:.2f}x, INT8 mAP50 {int8_map50:.4f} vs fp32 {fp32_map50:.4f} (drop {drop:+.4f})")
        checks.append(int8_forward_check(int8_vs_forward))
        checks += [
            ("(e) agent INT8 / agent fp32", f"{speedup:.2f}x", f">= {TARGET_INT8_SPEEDUP}x",
             speedup >= TARGET_INT8_SPEEDUP),
            ("(e) INT8 mAP50 drop", f"{drop:+.4f}", f"<= {TARGET_INT8_MAX_DROP}",
             drop <= TARGET_INT8_MAX_DROP),
        ]
    rss_target = f"< {TARGET_RSS_MB:.0f} MB"
    if shadow_rounds:
        # paired within a round, median round quoted
        off_fps, on_fps, _ = sorted(shadow_rounds, key=lambda t: t[1] / t[0])[len(shadow_rounds) // 2]
        kept = on_fps / off_fps
        shadow_rss = max(t[2] for t in shadow_rounds)
        _say(f"{'agent with a shadow at ' + format(SHADOW_SHARE, '.0%'):<36}{on_fps:>10.1f}   vs without "
             f"{off_fps:.1f}: {kept:.2f}x")
        checks += [
            (f"(f) shadow {SHADOW_SHARE:.0%} / no shadow", f"{kept:.2f}x",
             f">= {1 - TARGET_SHADOW_COST:.2f}x", kept >= 1 - TARGET_SHADOW_COST),
            ("(g) peak RSS, with a shadow", f"{shadow_rss:.0f} MB", rss_target, shadow_rss < TARGET_RSS_MB),
        ]
    checks += [
        ("(c) peak RSS, local, no sync", f"{peak_rss:.0f} MB", rss_target, peak_rss < TARGET_RSS_MB),
        ("(d) peak RSS, real config", f"{real_rss:.0f} MB", rss_target, real_rss < TARGET_RSS_MB),
    ]
    _say("")
    for name, value, target, ok in checks:
        _say(f"{name:<30}{value:>10}   target {target:<10} {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
