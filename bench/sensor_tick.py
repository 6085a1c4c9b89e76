"""One tick of every sensor (and schedule) in the code location, on a store of 10k and 100k keys.

Builds a local store per size: ``--keys`` sample keys (jpg + json pairs under 100 cameras x days),
one telemetry file per ten sample keys (10,000 at 100k keys), reviewed label batches, ingest batch
listings, a live release whose champion learned half the label batches, and a drifted report. It
then loads the code location the standard way (``maskops_assets.definitions.defs``, its resources
reading ``MASKOPS_HOME``) and times one evaluation of each sensor with ``dg.build_sensor_context``
(and each schedule with ``dg.build_schedule_context``) against a real SQLite instance. Sensors run
twice: a cold tick (no cursor) and a warm one (the cursor the first returned).

    .venv/bin/python bench/sensor_tick.py --keys 10000 100000 --out var/bench/sensor_tick

Target: every tick under 5 s at 100k keys (Dagster's default sensor timeout is 60 s). Exit code 1
when one is over. Figures only: not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

CAMERAS = 100
SAMPLES_PER_FOLDER = 10  # sample pairs per camera and day
TARGET_S = 5.0


def _write(root: Path, key: str, data: bytes) -> None:
    # straight to the local store's layout: the fsync-per-object writer would take minutes for 100k
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _telemetry_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from maskops_contracts.telemetry import TELEMETRY_COLUMNS

    now = datetime.now(UTC)
    rows = {col: [] for col in TELEMETRY_COLUMNS}
    for i in range(20):
        for col in TELEMETRY_COLUMNS:
            if col == "camera_id":
                value = "cam-000"
            elif col in ("model_version", "runtime", "precision"):
                value = {
                    "model_version": "maskops-detector-v1",
                    "runtime": "onnxruntime",
                    "precision": "fp32",
                }[col]
            elif col == "ts":
                value = (now - timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
            elif col == "class_counts":
                value = json.dumps({"with_mask": 1})
            elif col == "schema_version":
                value = 1
            else:
                value = float(i % 7)
            rows[col].append(value)
    buffer = io.BytesIO()
    pq.write_table(pa.table(rows), buffer)
    return buffer.getvalue()


def build_store(root: Path, keys: int, label_batches: int, label_images: int) -> dict:
    """Sample keys, telemetry, label batches and ingest listings; returns what was written."""
    from maskops_assets.ingest import make_batch
    from maskops_assets.labels.reviewed import LABELS_PREFIX, LabelBatch
    from maskops_contracts import sample_key, telemetry_key

    pairs = keys // 2
    days = max(1, pairs // (CAMERAS * SAMPLES_PER_FOLDER))
    first_day = date.today() - timedelta(days=days)
    record_keys: list[str] = []
    n = 0
    for cam in range(CAMERAS):
        for d in range(days):
            day = first_day + timedelta(days=d)
            for _ in range(SAMPLES_PER_FOLDER):
                sample_id = f"{n:024x}"
                n += 1
                _write(root, sample_key(f"cam-{cam:03d}", day, sample_id, "jpg"), b"\xff\xd8jpeg")
                record = sample_key(f"cam-{cam:03d}", day, sample_id, "json")
                _write(root, record, b"{}")
                record_keys.append(record)
    telemetry = _telemetry_bytes()
    files = keys // 10
    for i in range(files):
        cam, d = i % CAMERAS, (i // CAMERAS) % days
        _write(root, telemetry_key(f"cam-{cam:03d}", first_day + timedelta(days=d), f"b{i:06d}"), telemetry)
    # ingest listings (what the weekly schedule reads), one per 1000 records, made after the last model
    made = datetime.now(UTC) + timedelta(hours=1)
    for start in range(0, len(record_keys), 1000):
        batch = make_batch(record_keys[start : start + 1000], now=made)
        _write(root, f"ingest/batches/{batch.batch_id}.json", batch.to_json().encode())
    batch_ids = []
    for b in range(label_batches):
        batch_id = f"20261101T{b:06d}-{b:012x}"
        images = []
        for i in range(label_images):
            name = f"{b:06d}{i:018x}.jpg"
            _write(root, f"{LABELS_PREFIX}{batch_id}/images/{name}", b"\xff\xd8jpeg")
            images.append(
                {
                    "name": name,
                    "sample_id": name[:-4],
                    "ingest_batch": None,
                    "original": name,
                    "width": 32,
                    "height": 32,
                    "boxes": [[1, 1, 9, 9, "with_mask"]],
                }
            )
        batch = LabelBatch(batch_id, "bench", "yolo", "2026-11-01T00:00:00Z", tuple(images))
        _write(root, f"{LABELS_PREFIX}{batch_id}/batch.json", batch.to_json().encode())
        batch_ids.append(batch_id)
    return {"sample_keys": 2 * len(record_keys), "telemetry_files": files, "label_batches": batch_ids}


def seed_release_and_drift(store, instance, label_batches: list[str]) -> None:
    import dagster as dg

    from maskops_assets.monitoring.drift_summary import DriftSummary, write_summary
    from maskops_assets.release.ledger import ReleaseLedger, new_release_id
    from maskops_contracts import ModelRef, ReleaseManifest, model_key

    learned = label_batches[: len(label_batches) // 2]
    store.put_bytes(
        model_key("maskops-detector-v1", "metadata.json"),
        json.dumps({"lineage": {"dataset_version": "dataset-v1"}}).encode(),
    )
    champion = ModelRef("maskops-detector-v1", model_key("maskops-detector-v1"), "0" * 64)
    ReleaseLedger(store).publish(ReleaseManifest(release_id=new_release_id(), champion=champion))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "labeled_dataset",
            metadata={"dvc_version": "dataset-v1", "label_batches": dg.MetadataValue.json(learned)},
        )
    )
    instance.report_runless_asset_event(dg.AssetMaterialization("trained_model"))
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    write_summary(
        store,
        DriftSummary("bench", now, now, now, 1000, "bench", 100, 0.5, 0.3, drifted_cameras=("cam-001",)),
    )


def _outcome(result) -> str:
    import dagster as dg

    if result is None:
        return "none"
    if isinstance(result, dg.SkipReason):
        return "skip"
    if isinstance(result, dg.RunRequest):
        return "run request"
    if isinstance(result, dg.SensorResult):
        return f"{len(result.run_requests or [])} run request(s)" if result.run_requests else "skip"
    if isinstance(result, list):
        return f"{len(result)} item(s)"
    return type(result).__name__


def time_ticks(home: Path, instance) -> list[tuple[str, str, float, str]]:
    """(kind name, tick, seconds, outcome) for every sensor (cold, warm) and schedule."""
    import dagster as dg

    from maskops_assets.definitions import defs

    loaded = defs()
    repo = loaded.get_repository_def()
    resources = loaded.resources
    rows = []
    for sensor in sorted(repo.sensor_defs, key=lambda s: s.name):
        cursor = None
        for tick in ("cold", "warm"):
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=resources, definitions=loaded
            )
            start = time.perf_counter()
            try:
                result = sensor(context)
                outcome = _outcome(result)
            except Exception as err:  # a sensor that fails is a figure too
                result, outcome = None, f"error: {type(err).__name__}: {str(err)[:80]}"
            rows.append((f"sensor {sensor.name}", tick, time.perf_counter() - start, outcome))
            cursor = getattr(result, "cursor", None) or context.cursor
            print(f"  {sensor.name} ({tick}): {rows[-1][2]:.2f}s, {outcome}", flush=True)
    for schedule in sorted(repo.schedule_defs, key=lambda s: s.name):
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime.now(UTC), resources=resources
        )
        start = time.perf_counter()
        try:
            data = schedule.evaluate_tick(context)  # plain cron schedules too, not only decorated ones
            outcome = f"{len(data.run_requests)} run request(s)" if data.run_requests else "skip"
        except Exception as err:
            outcome = f"error: {type(err).__name__}: {str(err)[:80]}"
        rows.append((f"schedule {schedule.name}", "tick", time.perf_counter() - start, outcome))
        print(f"  {schedule.name}: {rows[-1][2]:.2f}s, {outcome}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--label-batches", type=int, default=20)
    parser.add_argument("--label-images", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None, help="keep the stores here (default: a temp dir)")
    args = parser.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="sensor_tick-"))
    try:
        results = _measure(base, args)
    finally:
        if args.out is None:
            shutil.rmtree(base, ignore_errors=True)
    return _report(results)


def _measure(base: Path, args: argparse.Namespace) -> dict[int, list]:
    import dagster as dg

    from maskops_assets.store import LocalObjectStore

    results: dict[int, list] = {}
    for keys in args.keys:
        home = base / f"home-{keys}"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        for var in [v for v in os.environ if v.startswith(("MASKOPS_", "MLFLOW_", "LABEL_STUDIO"))]:
            del os.environ[var]
        os.environ["MASKOPS_HOME"] = str(home)
        start = time.perf_counter()
        print(f"building a store of {keys} sample keys in {home} ...", flush=True)
        built = build_store(home / "store", keys, args.label_batches, args.label_images)
        print(
            f"  {built['sample_keys']} sample keys, {built['telemetry_files']} telemetry files, "
            f"{len(built['label_batches'])} label batches in {time.perf_counter() - start:.1f}s",
            flush=True,
        )
        (home / "dagster").mkdir()
        with dg.instance_for_test(temp_dir=str(home / "dagster")) as instance:
            seed_release_and_drift(LocalObjectStore(home / "store"), instance, built["label_batches"])
            results[keys] = time_ticks(home, instance)
        if args.out is None:
            shutil.rmtree(home, ignore_errors=True)
    return results


def _report(results: dict[int, list]) -> int:
    sizes = list(results)
    header = f"{'tick':44s}" + "".join(f"{f'{k:,} keys':>14s}" for k in sizes)
    if len(sizes) == 2:
        header += f"{'ratio':>8s}"
    print("\n" + header + "  outcome at the largest size")
    worst = 0.0
    for i, (name, tick, _, _) in enumerate(results[sizes[0]]):
        times = [results[k][i][2] for k in sizes]
        worst = max(worst, times[-1])
        line = f"{name + ' (' + tick + ')':44s}" + "".join(f"{t:13.3f}s" for t in times)
        if len(sizes) == 2:
            line += f"{times[1] / max(times[0], 1e-6):7.1f}x"
        print(line + f"  {results[sizes[-1]][i][3]}")
    ok = worst < TARGET_S
    print(
        f"\nslowest tick at {sizes[-1]:,} keys: {worst:.2f}s "
        f"(target < {TARGET_S:.0f}s): {'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
