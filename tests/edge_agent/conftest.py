"""Fixtures for the edge agent tests: tiny ONNX detectors, videos and image folders built on the spot.

Shared by the vision and the operations tests; add fixtures, do not remove any.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from testkit import free_port

from maskops_contracts import CLASS_NAMES

# A fixed box the model "sees": (x1, y1, x2, y2) in model-input pixels and its raw class scores.
FakeBox = tuple[tuple[float, float, float, float], Sequence[float]]


def build_yolo_onnx(
    path: Path,
    boxes: Sequence[FakeBox],
    *,
    imgsz: int = 64,
    n_anchors: int = 32,
    names: Sequence[str] = CLASS_NAMES,
    scale_by_brightness: bool = False,
    metadata: dict[str, str] | None = None,
    dynamic: bool = False,
) -> Path:
    """Write a YOLOv8-shaped ONNX model: input (1, 3, imgsz, imgsz), output (1, 4 + nc, n_anchors).

    With ``dynamic`` the input is (1, 3, "height", "width"), as the platform exports it, and
    the graph runs on any size (its boxes stay where the table puts them, in input pixels).

    The output is the given boxes (cx, cy, w, h + scores per anchor, the other anchors scoring 0)
    plus 0 x the input mean, so it really runs on the input; with ``scale_by_brightness`` the
    scores are multiplied by 2 x the input mean instead (a mid-grey frame keeps them, black
    frames detect nothing) so tests can drive the detector through the frames they feed.
    """
    nc = len(names)
    table = np.zeros((1, 4 + nc, n_anchors), dtype=np.float32)
    for i, ((x1, y1, x2, y2), scores) in enumerate(boxes):
        table[0, :4, i] = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
        table[0, 4:, i] = scores
    nodes = [helper.make_node("ReduceMean", ["images"], ["mean4"], keepdims=1)]
    initializers = [numpy_helper.from_array(np.array([1, 1, 1], dtype=np.int64), "shape3")]
    nodes.append(helper.make_node("Reshape", ["mean4", "shape3"], ["mean"]))
    if scale_by_brightness:
        geometry = table.copy()
        geometry[0, 4:] = 0
        scores_only = table - geometry
        initializers += [
            numpy_helper.from_array(geometry, "geometry"),
            numpy_helper.from_array(scores_only, "scores"),
            numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"),
        ]
        nodes += [
            helper.make_node("Mul", ["mean", "two"], ["gain"]),
            helper.make_node("Mul", ["scores", "gain"], ["scaled"]),
            helper.make_node("Add", ["geometry", "scaled"], ["output0"]),
        ]
    else:
        initializers += [
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        ]
        nodes += [
            helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
            helper.make_node("Add", ["table", "nothing"], ["output0"]),
        ]
    graph = helper.make_graph(
        nodes,
        "fake_yolov8",
        [
            helper.make_tensor_value_info(
                "images", TensorProto.FLOAT, [1, 3, "height", "width"] if dynamic else [1, 3, imgsz, imgsz]
            )
        ],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + nc, n_anchors])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    props = {"names": str(dict(enumerate(names))), "imgsz": str([imgsz, imgsz])}
    props.update(metadata or {})
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def make_yolo_onnx(tmp_path: Path) -> Callable[..., Path]:
    """``make_yolo_onnx(boxes, name="model.onnx", **kwargs)`` -> path of a fake YOLOv8 ONNX model."""

    def make(boxes: Sequence[FakeBox], name: str = "model.onnx", **kwargs) -> Path:
        return build_yolo_onnx(tmp_path / name, boxes, **kwargs)

    return make


@pytest.fixture
def fake_model_path(make_yolo_onnx: Callable[..., Path]) -> Path:
    """A 64 px fake model that sees one uncertain face (scores 0.55 / 0.40 / 0.05) in the middle."""
    return make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.55, 0.40, 0.05))])


def write_video(path: Path, n_frames: int = 20, size: tuple[int, int] = (96, 64), fps: float = 10.0) -> Path:
    """An MP4 (mp4v) with a bright square moving across a dark background; size is (width, height)."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for i in range(n_frames):
        frame = np.full((height, width, 3), 40, dtype=np.uint8)
        x = (i * 4) % max(1, width - 16)
        cv2.rectangle(frame, (x, height // 4), (x + 16, height // 4 + 16), (60, 200, 240), -1)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """``make_video(name="clip.mp4", n_frames=20, size=(96, 64), fps=10.0)`` -> path of a small MP4."""

    def make(name: str = "clip.mp4", **kwargs) -> Path:
        return write_video(tmp_path / name, **kwargs)

    return make


@pytest.fixture
def make_image_folder(tmp_path: Path) -> Callable[..., Path]:
    """``make_image_folder(n=5, name="frames", size=(80, 60))`` -> a folder of distinct JPEGs."""

    def make(n: int = 5, name: str = "frames", size: tuple[int, int] = (80, 60)) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        width, height = size
        for i in range(n):
            image = np.full((height, width, 3), 30 + 40 * (i % 5), dtype=np.uint8)
            cv2.circle(image, (10 + 10 * i % width, height // 2), 8, (0, 0, 255), -1)
            cv2.imwrite(str(folder / f"frame_{i:04d}.jpg"), image)
        return folder

    return make


# ---------------------------------------------------------------- operations (E2): a real S3 endpoint
class MotoS3:
    """moto's S3 server on loopback that a test can stop and start again on the same port.

    The server keeps its buckets in this process, so objects survive a stop/start: that is
    an outage of the endpoint, not a wiped store.
    """

    def __init__(self, port: int, bucket: str = "maskops-test") -> None:
        self.port = port
        self.bucket = bucket
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._server = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1")

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]

    def get(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.bucket, Key=key, Body=data)


S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch):
    """A running moto S3 server on a free loopback port with an empty bucket; stopped afterwards."""
    for name, value in S3_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    server = MotoS3(free_port(), bucket=f"maskops-{free_port()}")
    server.start()
    server.client().create_bucket(Bucket=server.bucket)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unused_port() -> Callable[[], int]:
    """``unused_port()`` -> a loopback TCP port nothing listens on (for a dead endpoint)."""
    return free_port


@pytest.fixture
def s3_test_env() -> dict[str, str]:
    """The fake AWS credentials the moto server accepts (for agent subprocesses)."""
    return dict(S3_TEST_ENV)


@pytest.fixture
def write_agent_config(tmp_path: Path) -> Callable[..., Path]:
    """``write_agent_config(cameras, store, **sections)`` -> an agent YAML in tmp_path, quick to run.

    Sections default to test-friendly values: fast retries, small telemetry batches, no HTTP
    server, every frame analysed and no sampling budget or dedup, so each distinct frame with an
    uncertain detection is kept.
    """
    import yaml

    def make(cameras: list[dict], store: dict, name: str = "agent.yaml", **sections) -> Path:
        sampler = {"max_per_minute": None, "max_per_hour": None, "dedup_window_s": 0.0}
        cfg = {
            "agent_id": "test-box",
            "data_dir": str(tmp_path / "data"),
            "cameras": [{"gate": {"target_fps": 0}, "sampler": dict(sampler), **cam} for cam in cameras],
            "store": store,
            "detector": {"threads": 1},
            "outbox": {"retry_initial_s": 0.1, "retry_max_s": 0.5, "drain_timeout_s": 5},
            "model_sync": {"poll_interval_s": 0.3, "warmup_frames": 1},
            "telemetry": {"batch_rows": 10, "batch_seconds": 1},
            "http": {"enabled": False},
            "log": {"level": "INFO"},
        }
        for key, value in sections.items():
            cfg[key] = (
                {**cfg[key], **value} if isinstance(value, dict) and isinstance(cfg.get(key), dict) else value
            )
        path = tmp_path / name
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    return make
