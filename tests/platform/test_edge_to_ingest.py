"""The two halves through the object store: the real edge agent uploads, the platform ingests.

The edge agent runs as its own process (``python -m edge_agent run --until-sources-end``, as a
camera box runs it) on a generated clip, with a fake detector that sees one uncertain face in
every frame and a sampler that also keeps every frame at random (``random_rate: 1.0``), so every
analysed frame is kept by construction. Then the platform's ``new_samples_sensor`` ticks on a
real Dagster instance and ``collected_frames`` is materialized on what the agent wrote: the
samples the platform collects are exactly the ones the agent reports (its JSON summary for the
count, its outbox ledger for the ids), and every record parses with the sample contract.

Once on a local directory, once on S3 (moto's server) under a key prefix: the edge's
``store.prefix`` and the platform's ``MASKOPS_STORE_PREFIX`` (``ObjectStoreResource.prefix``)
must name the same place, or the sensor never sees a camera's uploads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import yaml

from edge_agent.outbox import read_ledger
from maskops_assets.defs.ingest import collected_frames, ingest_batches, new_samples_sensor
from maskops_assets.ingest import CollectedBatch
from maskops_assets.resources import ObjectStoreResource
from maskops_contracts import CLASS_NAMES, SampleRecord, parse_sample_key, sample_key
from maskops_contracts.sample import content_sample_id

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CAMERA = "gate-1"
PREFIX = "site-a"
N_FRAMES = 6


def _uncertain_face_detector(path: Path, imgsz: int = 64) -> Path:
    """A YOLOv8-shaped ONNX graph (1, 3, imgsz, imgsz) -> (1, 4 + nc, 8) that sees one face in the
    middle of every frame, scored 0.55 / 0.40 / 0.05 (inside the sampler's uncertainty band)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nc = len(CLASS_NAMES)
    table = np.zeros((1, 4 + nc, 8), dtype=np.float32)
    table[0, :4, 0] = [imgsz / 2, imgsz / 2, imgsz / 2, imgsz / 2]
    table[0, 4:, 0] = [0.55, 0.40, 0.05][:nc]
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["images"], ["mean4"], keepdims=1),
            helper.make_node("Reshape", ["mean4", "shape3"], ["mean"]),
            helper.make_node("Mul", ["mean", "zero"], ["nothing"]),  # it does run on the frame
            helper.make_node("Add", ["table", "nothing"], ["output0"]),
        ],
        "uncertain_face",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, imgsz, imgsz])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + nc, 8])],
        [
            numpy_helper.from_array(np.array([1, 1, 1], dtype=np.int64), "shape3"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
            numpy_helper.from_array(table, "table"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": str(dict(enumerate(CLASS_NAMES))), "imgsz": str([imgsz, imgsz])})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _run_agent(tmp_path: Path, store: dict, env: dict[str, str]) -> tuple[dict, Path]:
    """Run the agent process to the end of its clip; (its JSON summary, its data_dir)."""
    from maskops_assets.synthetic.video import generate_video

    clip = generate_video(tmp_path / "clip.avi", n_frames=N_FRAMES, size=(128, 96), seed=3).video
    model = _uncertain_face_detector(tmp_path / "model.onnx")
    data_dir = tmp_path / "edge_data"
    sampler = {"random_rate": 1.0, "max_per_minute": None, "max_per_hour": None, "dedup_window_s": 0.0}
    cfg = {
        "agent_id": "e2e-box",
        "data_dir": str(data_dir),
        "cameras": [
            {
                "camera_id": CAMERA,
                "source": {"kind": "video", "uri": str(clip)},
                "gate": {"target_fps": 0},
                "sampler": sampler,
            }
        ],
        "store": store,
        "detector": {"model_path": str(model), "model_version": "e2e-model", "threads": 1},
        "outbox": {"retry_initial_s": 0.1, "retry_max_s": 0.5, "drain_timeout_s": 30},
        "http": {"enabled": False},
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(config), "--until-sources-end"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, f"the agent exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["event"] == "summary"
    return summary, data_dir


def _kept_sample_ids(data_dir: Path) -> set[str]:
    """The sample ids whose record the agent's outbox delivered (its ledger, read-only)."""
    ledger = read_ledger(data_dir / "outbox")
    ids = set()
    for key, state in ledger.items():
        if key.startswith("samples/") and key.endswith(".json"):
            assert state == "delivered", f"{key} is {state}: the agent did not drain its outbox"
            ids.add(parse_sample_key(key)[2])
    return ids


def _ingest(instance: dg.DagsterInstance, resource: ObjectStoreResource) -> tuple[CollectedBatch, dict]:
    """One sensor tick, then ``collected_frames`` materialized on the batch it asked for."""
    tick = new_samples_sensor(
        dg.build_sensor_context(instance=instance, resources={"object_store": resource})
    )
    assert len(tick.run_requests) == 1, f"the sensor found nothing: {tick.skip_reason}"
    batch_id = tick.run_requests[0].partition_key
    instance.add_dynamic_partitions(ingest_batches.name, [batch_id])
    result = dg.materialize(
        [collected_frames], partition_key=batch_id, instance=instance, resources={"object_store": resource}
    )
    assert result.success
    metadata = result.asset_materializations_for_node("collected_frames")[0].metadata
    return result.output_for_node("collected_frames"), metadata


def _s3_env() -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.mark.parametrize("where", ["local", "s3-with-prefix"])
def test_what_the_edge_uploads_is_what_ingest_collects(
    where: str, tmp_path: Path, dagster_instance: dg.DagsterInstance, request: pytest.FixtureRequest
) -> None:
    if where == "local":
        root = tmp_path / "store"
        edge_store: dict = {"kind": "local", "root": str(root)}
        env: dict[str, str] = {}
        resource = ObjectStoreResource(kind="local", root=str(root))
    else:
        bucket = request.getfixturevalue("s3_bucket")
        endpoint = request.getfixturevalue("s3_endpoint")
        edge_store = {"kind": "s3", "bucket": bucket, "endpoint_url": endpoint, "prefix": PREFIX}
        env = _s3_env()
        resource = ObjectStoreResource(kind="s3", bucket=bucket, prefix=PREFIX, endpoint_url=endpoint)

    summary, data_dir = _run_agent(tmp_path, edge_store, env)
    camera = summary["cameras"][CAMERA]
    assert camera["frames_analysed"] == N_FRAMES
    assert camera["samples_kept"] == N_FRAMES  # random_rate 1.0: every analysed frame
    assert summary["drained"] is True
    assert summary["outbox"]["uploaded"]["sample"] == camera["samples_kept"]
    kept = _kept_sample_ids(data_dir)
    assert len(kept) == camera["samples_kept"]

    if where != "local":  # the objects really are under the prefix in the bucket
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        raw = client.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/samples/")
        assert len(raw.get("Contents", [])) == 2 * len(kept)

    batch, metadata = _ingest(dagster_instance, resource)
    assert metadata["samples"].value == camera["samples_kept"]
    assert metadata["invalid_records"].value == 0
    assert set(batch.sample_ids) == kept and len(batch.sample_ids) == len(kept)
    assert batch.by_camera == {CAMERA: len(kept)}

    store = resource.open()
    for record in batch.records:
        key = sample_key(CAMERA, record.date, record.sample_id, "json")
        parsed = SampleRecord.from_json(store.get_bytes(key), source=key)
        assert parsed == record and parsed.model_version == "e2e-model"
        jpg = store.get_bytes(sample_key(CAMERA, record.date, record.sample_id, "jpg"))
        assert content_sample_id(jpg) == record.sample_id

    # a second tick finds nothing new: each upload is ingested once
    again = new_samples_sensor(
        dg.build_sensor_context(instance=dagster_instance, resources={"object_store": resource})
    )
    assert not again.run_requests
