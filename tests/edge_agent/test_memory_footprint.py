"""What keeps the agent's resident memory small, checked by construction (no RSS figures here:
machines differ; bench/edge_throughput.py measures them).

- On OpenVINO, ONNX Runtime is never loaded (the ONNX metadata is read from the file itself).
- A hot swap lets the replaced detector go, and the next poll hands its memory back.
- A dynamic model keeps compiled only the input shapes real frames use.
- The S3 client is made on first use, once, by botocore (no boto3), shared by outbox and sync.
- The agent process keeps pandas out and tunes glibc's malloc (arenas, mmap threshold).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import numpy as np
import onnx
import pytest

from edge_agent.detector.base import DetectorConfig, load_detector
from edge_agent.detector.onnx_metadata import parse_onnx_metadata, read_onnx_metadata
from edge_agent.detector.types import ModelLoadError
from edge_agent.metrics import AgentMetrics
from edge_agent.model_sync import ModelHolder, ModelSync, ModelSyncConfig
from edge_agent.transport import LocalDirTransport, S3Transport
from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest, model_key, sha256_file

ROOT = Path(__file__).resolve().parents[2]
BOX = [((8.0, 8.0, 24.0, 24.0), (0.55, 0.40, 0.05))]
#: a 64x32 (w x h) frame: a dynamic model at imgsz 64 runs it as a 32x64 input, not 64x64
FRAME = np.full((32, 64, 3), 128, np.uint8)
OPENVINO = DetectorConfig(runtime="openvino", threads=1, streams=1)


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter (what it imports is what a process would load); its
    last stdout line is JSON. The interpreter leaves with ``os._exit`` once it has printed: a
    native library's teardown at exit aborts now and then in this venv ("terminate called
    without an active exception", also without any of the agent's code), which is not what is
    tested here."""
    code += "\nimport os as _os, sys as _sys\n_sys.stdout.flush()\n_os._exit(0)\n"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ ONNX Runtime stays out
def test_loading_a_model_on_openvino_does_not_import_onnxruntime(make_yolo_onnx) -> None:
    model = make_yolo_onnx(BOX, dynamic=True)
    seen = run_python(
        "import json, sys\n"
        "from pathlib import Path\n"
        "import numpy as np\n"
        "from edge_agent.detector import DetectorConfig, load_detector\n"
        "cfg = DetectorConfig(runtime='openvino', threads=1)\n"
        "d = load_detector(Path(sys.argv[1]), model_version='v', cfg=cfg)\n"
        "d.detect(np.zeros((32, 64, 3), np.uint8))\n"
        "print(json.dumps({'ort': 'onnxruntime' in sys.modules, 'names': list(d.class_names)}))\n",
        str(model),
    )
    assert seen["ort"] is False
    assert len(seen["names"]) == 3  # the class names came from the metadata all the same


def test_metadata_is_read_from_the_file_as_onnx_writes_it(make_yolo_onnx) -> None:
    extra = {"stride": "32", "description": "ünïcode ✓", "empty": ""}
    path = make_yolo_onnx(BOX, metadata=extra)
    expected = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert read_onnx_metadata(path) == expected
    assert read_onnx_metadata(path)["description"] == "ünïcode ✓"


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not an onnx file", b"\x08\x08\x3a\xff\xff\xff\x0f", b"\x08\x08"],
    ids=["empty", "text", "truncated-graph", "no-graph"],
)
def test_a_file_that_is_not_an_onnx_model_is_a_model_load_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=r"model\.onnx"):
        read_onnx_metadata(path)


def test_metadata_of_a_truncated_model_file_is_refused(make_yolo_onnx) -> None:
    data = make_yolo_onnx(BOX).read_bytes()
    with pytest.raises(ValueError):
        parse_onnx_metadata(data[: len(data) // 2])


# ------------------------------------------------------------------ compiled input shapes
def test_a_model_loaded_for_known_frame_sizes_compiles_only_their_input(make_yolo_onnx) -> None:
    detector = load_detector(
        make_yolo_onnx(BOX, dynamic=True), model_version="v", cfg=OPENVINO, frame_sizes=frozenset({(32, 64)})
    )
    assert detector.backend.compiled_shapes == {(32, 64)}  # no square 64x64 probe left behind
    assert len(detector.detect(FRAME).detections) == 1
    assert detector.backend.compiled_shapes == {(32, 64)}


def test_the_square_warm_up_input_is_released_when_real_frames_arrive(make_yolo_onnx) -> None:
    detector = load_detector(make_yolo_onnx(BOX, dynamic=True), model_version="v", cfg=OPENVINO)
    detector.warmup(1)
    assert detector.backend.compiled_shapes == {(64, 64)}  # sizes unknown yet: the square
    detector.detect(FRAME)
    assert detector.backend.compiled_shapes == {(32, 64)}
    detector.detect(np.full((64, 32, 3), 128, np.uint8))  # a second camera size is kept too
    assert detector.backend.compiled_shapes == {(32, 64), (64, 32)}


# ------------------------------------------------------------------ hot swap
def _release(store: LocalDirTransport, n: int, model: Path) -> None:
    version = f"v{n}"
    store.put(model_key(version), model.read_bytes(), "application/octet-stream")
    ref = ModelRef(model_version=version, uri=model_key(version), sha256=sha256_file(model), imgsz=64)
    manifest = ReleaseManifest(release_id=f"r{n}", champion=ref)
    store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")


def test_a_hot_swap_lets_the_replaced_detector_go_and_hands_its_memory_back(
    make_yolo_onnx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge_agent.model_sync as model_sync

    trims: list[bool] = []
    monkeypatch.setattr(model_sync, "return_freed_memory", lambda: trims.append(True) or True)
    store = LocalDirTransport(tmp_path / "store")
    holder = ModelHolder("cam-a")
    sync = ModelSync(
        ModelSyncConfig(warmup_frames=1), OPENVINO, store, tmp_path / "models", {"cam-a": holder},
        AgentMetrics(),
    )
    _release(store, 1, make_yolo_onnx(BOX, name="v1.onnx", dynamic=True))
    sync.poll_once()
    old = holder.current().detector
    old.detect(FRAME)  # a camera frame: the swap warms its successor on this size
    old_detector, old_backend = weakref.ref(old), weakref.ref(old.backend)
    del old

    _release(store, 2, make_yolo_onnx(BOX, name="v2.onnx", dynamic=True, metadata={"v": "2"}))
    sync.poll_once()
    new = holder.current().detector
    assert holder.current().model_version == "v2"
    assert new.backend.compiled_shapes == {(32, 64)}  # warmed on the camera's size, nothing else
    gc.collect()
    assert old_detector() is None and old_backend() is None  # nothing holds the old model
    assert trims == []
    sync.poll_once()  # the next poll hands the freed heap back, once
    sync.poll_once()
    assert trims == [True]


# ------------------------------------------------------------------ the S3 client
def test_an_s3_transport_imports_no_sdk_until_it_is_used() -> None:
    seen = run_python(
        "import json, sys\n"
        "from edge_agent.transport import S3Transport\n"
        "t = S3Transport('bucket', prefix='site-a', endpoint_url='http://127.0.0.1:9')\n"
        "print(json.dumps({m: m in sys.modules for m in ('boto3', 'botocore', 's3transfer')}))\n"
    )
    assert seen == {"boto3": False, "botocore": False, "s3transfer": False}


def test_the_s3_client_is_made_once_whichever_thread_comes_first(moto_s3) -> None:
    transport = S3Transport(moto_s3.bucket, prefix="site-a", endpoint_url=moto_s3.endpoint_url)
    assert not transport.lazy_client.created
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def use(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            transport.put(f"samples/cam/2026-11-30/{i}.json", b"{}", "application/json")
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert transport.lazy_client.client_count == 1
    assert len(moto_s3.keys()) == 6


def test_outbox_and_model_sync_share_one_transport(tmp_path: Path, moto_s3) -> None:
    from edge_agent.agent import EdgeAgent
    from edge_agent.config import AgentConfig

    cfg = AgentConfig.model_validate(
        {
            "agent_id": "mem",
            "data_dir": str(tmp_path / "data"),
            "cameras": [{"camera_id": "cam-a", "source": {"kind": "folder", "uri": str(tmp_path)}}],
            "store": {"kind": "s3", "bucket": moto_s3.bucket, "endpoint_url": moto_s3.endpoint_url},
        }
    )
    agent = EdgeAgent(cfg)
    try:
        assert agent.outbox.transport is agent.model_sync.transport is agent.transport
        assert not agent.transport.lazy_client.created  # nothing asked the store yet
        agent.model_sync.poll_once()
        agent.transport.put("samples/cam-a/2026-11-30/x.json", b"{}", "application/json")
        assert agent.transport.lazy_client.client_count == 1
    finally:
        agent.outbox.close()


# ------------------------------------------------------------------ the agent process
def test_the_agent_process_keeps_pandas_out_and_pyarrow_still_works() -> None:
    seen = run_python(
        "import json, sys\n"
        "from edge_agent.cli import keep_pandas_out\n"
        "keep_pandas_out()\n"
        "from edge_agent.telemetry import parquet_to_rows, rows_to_parquet\n"
        "rows_to_parquet([])\n"
        "try:\n"
        "    import pandas\n"
        "    blocked = False\n"
        "except ImportError:\n"
        "    blocked = True\n"
        "print(json.dumps({'pandas': 'pandas' in sys.modules, 'blocked': blocked,\n"
        "                  'rows': len(parquet_to_rows(rows_to_parquet([])))}))\n"
    )
    assert seen == {"pandas": False, "blocked": True, "rows": 0}


def test_malloc_is_tuned_unless_the_operator_set_it() -> None:
    import os
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    code = "import json\nfrom edge_agent.cli import tune_malloc\nprint(json.dumps(tune_malloc()))\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert run_python(code, env=env) == {"MALLOC_ARENA_MAX": 2, "MALLOC_MMAP_THRESHOLD_": 1 << 20}
    assert run_python(code, env={**env, "MALLOC_ARENA_MAX": "4"}) == {"MALLOC_MMAP_THRESHOLD_": 1 << 20}
