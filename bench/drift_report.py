"""Drift report over 100,000 telemetry rows (or 10,000,000 in S3): how long, how much memory?

Builds an object store (a local directory, or with ``--s3`` a bucket on a moto server started as a
process of its own) holding what ``drift_report`` reads in production:

- a live release whose champion is a tiny YOLOv8-shaped ONNX (fixed boxes, built with onnx.helper:
  its accuracy does not matter here, only that the reference runs it through the edge detector),
  with its ``metadata.json`` naming the dataset version;
- the training images of that version (generated synthetic scenes, ``--train-images``);
- ``--rows`` telemetry rows (default 100,000) from ``--cameras`` cameras (default 8), in batches
  of 500 rows as the agent uploads them (200 parquet files), spread over the last hour: each row a
  training scene's measured features with 2 % noise; one camera sees them darker and blurrier, so
  the report has drift to find (and the others have none).

Then times ``run_drift_report`` (the whole body of the asset: champion lookup, reading the window,
the reference, Evidently, writing the HTML, picture and summary) twice: the first run builds the
reference (measures the training images, once per dataset and model version), the second reads it
back, which is what every hourly refresh does. Evidently's import is timed apart (a cold process
pays it once). The two runs happen in a child process, whose peak RSS is printed beside the times
(the parent builds the store; moto keeps the bucket in its own process). Exit code 1 when the
cached run misses ``--target-s`` (10 s) or the child's peak RSS ``--max-rss-mb`` (2,000).

    .venv/bin/python bench/drift_report.py --rows 100000 --cameras 8
    .venv/bin/python bench/drift_report.py --s3 --rows 10000000 --cameras 8 --target-s 60
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL_VERSION = "maskops-detector-bench"
DATASET_VERSION = "dataset-v1"
IMGSZ = 64
BATCH_ROWS = 500
BUCKET = "drift-bench"


def _say(message: str) -> None:
    print(message, flush=True)


def fake_onnx(path: Path) -> Path:
    """The fixed-table model (maskops_assets.synthetic.fixed_model) at the bench's size."""
    from maskops_assets.synthetic.fixed_model import fixed_table_onnx

    return fixed_table_onnx(path, IMGSZ)


class BenchSource:
    """The reference's inputs: generated training images and the fake champion."""

    def __init__(self, images: list[Path], onnx: Path) -> None:
        self.images, self.onnx = images, onnx

    def training_images(self, dataset_version: str) -> list[Path]:
        return self.images

    def champion_detector(self, champion):
        from edge_agent.detector import DetectorConfig, load_detector

        return load_detector(
            self.onnx, model_version=MODEL_VERSION, cfg=DetectorConfig(precision="fp32"), imgsz=IMGSZ
        )


def release_champion(store, onnx: Path) -> None:
    from maskops_assets.release.ledger import ReleaseLedger, new_release_id
    from maskops_contracts import ModelRef, ReleaseManifest, model_key, sha256_file

    store.put_bytes(model_key(MODEL_VERSION), onnx.read_bytes())
    lineage = {"model_version": MODEL_VERSION, "lineage": {"dataset_version": DATASET_VERSION}}
    store.put_bytes(model_key(MODEL_VERSION, "metadata.json"), json.dumps(lineage).encode())
    champion = ModelRef(MODEL_VERSION, model_key(MODEL_VERSION), sha256_file(onnx), imgsz=IMGSZ)
    ReleaseLedger(store).publish(ReleaseManifest(release_id=new_release_id(), champion=champion))


def write_telemetry(store, reference, rows: int, cameras: int, now: datetime, seed: int = 0) -> int:
    """``rows`` telemetry rows in 500-row parquet batches (the agent's): each row a training image's
    measured features with 2 % noise, as a camera seeing the training scenes would report; camera 0
    sees them darker (x0.5) and blurrier (blur x0.2), so it drifts and the others do not."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from edge_agent.telemetry import telemetry_schema
    from maskops_assets.monitoring.features import DETECTION_FEATURES, FRAME_FEATURES
    from maskops_contracts import TELEMETRY_COLUMNS, telemetry_key

    rng = np.random.default_rng(seed)
    schema = telemetry_schema()
    per_camera = rows // cameras
    files = 0
    pool = ThreadPoolExecutor(max_workers=8)  # on S3 each upload is a round trip
    for c in range(cameras):
        camera = f"bench-cam-{c:02d}"
        n = per_camera + (rows - per_camera * cameras if c == cameras - 1 else 0)
        drawn = reference.iloc[rng.integers(0, len(reference), n)].reset_index(drop=True)
        columns = {
            "schema_version": np.ones(n, dtype=np.int64),
            "camera_id": [camera] * n,
            "ts": [now - timedelta(seconds=3600 * (1 - i / n)) for i in range(n)],
            "model_version": [MODEL_VERSION] * n,
            "inference_ms": rng.normal(8, 1, n),
            "runtime": ["onnxruntime"] * n,
            "precision": ["fp32"] * n,
        }
        for feature in FRAME_FEATURES:
            values = drawn[feature].to_numpy() * rng.normal(1.0, 0.02, n)
            if c == 0:
                values = values * (0.2 if feature == "blur" else 0.5)
            columns[feature] = values
        for feature in DETECTION_FEATURES:
            values = drawn[feature].to_numpy()
            columns[feature] = values.astype(np.int64) if feature.startswith(("num_", "count_")) else values
        table = pa.table({k: columns[k] for k in TELEMETRY_COLUMNS}, schema=schema)
        del columns, drawn
        uploads = []
        for start in range(0, n, BATCH_ROWS):
            first = table["ts"][start].as_py()
            key = telemetry_key(camera, first, f"{first:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:12]}")
            sink = io.BytesIO()
            pq.write_table(table.slice(start, BATCH_ROWS), sink, compression="zstd")
            uploads.append(
                pool.submit(store.put_bytes, key, sink.getvalue(), "application/vnd.apache.parquet")
            )
            files += 1
        for upload in uploads:
            upload.result()
    pool.shutdown()
    return files


def start_moto() -> tuple[subprocess.Popen, str]:
    """moto's S3 server as a process of its own on a free loopback port, with the bench's bucket."""
    import socket
    import urllib.request

    import boto3

    # moto accepts any credentials; set dummy ones for this process and the report's child
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit(f"moto_server did not start on {endpoint}") from None
            time.sleep(0.2)
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    except Exception:
        server.kill()
        server.wait(timeout=30)
        raise
    return server, endpoint


def open_store(out: Path, endpoint: str | None):
    from maskops_assets.store import LocalObjectStore, S3ObjectStore

    return S3ObjectStore(BUCKET, "", endpoint) if endpoint else LocalObjectStore(out / "store")


def report_runs(args: argparse.Namespace) -> int:
    """The child: two drift reports on the built store, then the figures as one JSON line."""
    started = time.perf_counter()
    import evidently  # noqa: F401  (timed apart: a cold process pays it once)

    evidently_import = time.perf_counter() - started
    from maskops_assets.monitoring.drift_report import DriftSettings, run_drift_report

    store = open_store(args.out, args.endpoint)
    images = sorted((args.out / "dataset" / "images" / "train").glob("*.jpg"))
    source = BenchSource(images, args.out / "model" / "model.onnx")
    settings = DriftSettings(max_rows=args.max_rows)
    now = datetime.fromisoformat(args.now)
    figures = {}
    for name in ("first (builds the reference)", "hourly (reference cached)"):
        started = time.perf_counter()
        outcome = run_drift_report(store, source, settings, now=now + timedelta(seconds=1))
        total = time.perf_counter() - started
        assert outcome.status == "ok", outcome.message
        figures[name] = total
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in outcome.timings.items())
        _say(
            f"{name}: {total:.2f} s total ({steps}); about {outcome.window_rows} rows in the window, "
            f"{outcome.summary.rows} compared against {outcome.summary.reference_rows} reference rows"
        )
    summary = outcome.summary
    _say(
        f"drift share {summary.drift_share:.2f}, drifted cameras {list(summary.drifted_cameras)}, "
        f"HTML {len(store.get_bytes(summary.html_key)) / 1e6:.1f} MB"
    )
    _say(f"evidently import (once per process): {evidently_import:.2f} s")
    print(json.dumps({"hourly_s": figures["hourly (reference cached)"]}), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--train-images", type=int, default=150, help="generated dataset size (70%% train)")
    parser.add_argument("--max-rows", type=int, default=10_000, help="the report's sample bound")
    parser.add_argument("--target-s", type=float, default=10.0)
    parser.add_argument(
        "--max-rss-mb", type=float, default=2000.0, help="the report process's peak RSS bound"
    )
    parser.add_argument("--s3", action="store_true", help="telemetry in a bucket on a moto server process")
    parser.add_argument("--out", type=Path, default=None, help="keep the store here (default: a temp dir)")
    parser.add_argument("--report-only", action="store_true", help=argparse.SUPPRESS)  # the child
    parser.add_argument("--endpoint", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--now", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report_only:
        return report_runs(args)

    out = args.out or Path(tempfile.mkdtemp(prefix="drift-bench-"))
    if out.exists() and args.out:
        shutil.rmtree(out)
    moto, endpoint = None, None
    try:
        if args.s3:
            moto, endpoint = start_moto()
        from maskops_assets.monitoring.reference import measure_images
        from maskops_assets.synthetic.dataset import generate_dataset

        store = open_store(out, endpoint)
        now = datetime.now(UTC)
        _say(f"generating {args.train_images} training images and the fake champion under {out}")
        data_yaml = generate_dataset(out / "dataset", args.train_images, seed=0, image_size=160)
        images = sorted((data_yaml.parent / "images" / "train").glob("*.jpg"))
        onnx = fake_onnx(out / "model" / "model.onnx")
        release_champion(store, onnx)
        scenes = measure_images(images, BenchSource(images, onnx).champion_detector(None), MODEL_VERSION)
        where = f"s3://{BUCKET} on moto ({endpoint})" if endpoint else str(out / "store")
        _say(f"writing {args.rows} telemetry rows from {args.cameras} cameras to {where}")
        started = time.perf_counter()
        files = write_telemetry(store, scenes, args.rows, args.cameras, now)
        _say(f"  {files} parquet files of {BATCH_ROWS} rows in {time.perf_counter() - started:.0f} s")

        child = [sys.executable, __file__, "--report-only", "--out", str(out), "--now", now.isoformat()]
        child += ["--max-rows", str(args.max_rows)] + (["--endpoint", endpoint] if endpoint else [])
        done = subprocess.run(child, stdout=subprocess.PIPE, text=True, env=os.environ.copy(), check=False)
        lines = done.stdout.strip().splitlines()
        for line in lines[:-1]:
            _say(line)
        if done.returncode != 0 or not lines:
            _say(f"the report process failed (exit code {done.returncode})")
            return 1
        hourly = json.loads(lines[-1])["hourly_s"]
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=30)
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    verdict = "PASS" if hourly < args.target_s and peak_mb < args.max_rss_mb else "FAIL"
    _say(
        f"drift_report over {args.rows} rows: {hourly:.2f} s (target < {args.target_s:g} s), report process "
        f"peak RSS {peak_mb:.0f} MB (target < {args.max_rss_mb:g} MB) {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
