"""Model sync: follow the manifest, verify sha256, hot-swap per camera, refuse bad models, cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from edge_agent.detector.base import DetectorConfig
from edge_agent.metrics import AgentMetrics
from edge_agent.model_sync import NO_MODEL, ModelHolder, ModelSync, ModelSyncConfig
from edge_agent.transport import LocalDirTransport
from maskops_contracts import MANIFEST_KEY, CanaryModel, ModelRef, ReleaseManifest, model_key

BOX_A = [((16.0, 16.0, 48.0, 48.0), (0.55, 0.40, 0.05))]
BOX_B = [((8.0, 8.0, 40.0, 40.0), (0.10, 0.80, 0.10))]


def publish(store: LocalDirTransport, version: str, data: bytes, *, sha256: str | None = None) -> ModelRef:
    key = model_key(version)
    store.put(key, data, "application/octet-stream")
    return ModelRef(
        model_version=version, uri=key, sha256=sha256 or hashlib.sha256(data).hexdigest(), imgsz=64
    )


def release(
    store: LocalDirTransport, release_id: str, champion: ModelRef, canary: CanaryModel | None = None
) -> None:
    manifest = ReleaseManifest(release_id=release_id, champion=champion, canary=canary)
    store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")


def refusals(metrics: AgentMetrics, reason: str) -> float:
    return metrics.registry.get_sample_value("maskops_edge_model_refusals_total", {"reason": reason}) or 0.0


def model_info(metrics: AgentMetrics, camera: str, version: str) -> float | None:
    return metrics.registry.get_sample_value(
        "maskops_edge_model_info", {"camera": camera, "model_version": version}
    )


@pytest.fixture
def env(tmp_path: Path):
    store = LocalDirTransport(tmp_path / "store")
    metrics = AgentMetrics()
    holders = {"cam-a": ModelHolder("cam-a"), "cam-b": ModelHolder("cam-b")}

    def make_sync(h: dict[str, ModelHolder] | None = None) -> ModelSync:
        return ModelSync(
            ModelSyncConfig(poll_interval_s=1, warmup_frames=1),
            DetectorConfig(threads=1),
            store,
            tmp_path / "data" / "models",
            h if h is not None else holders,
            metrics,
        )

    return store, metrics, holders, make_sync


def test_no_release_and_no_model_runs_without_a_detector(env) -> None:
    _, metrics, holders, make_sync = env
    sync = make_sync()
    sync.restore(None, "local")
    sync.poll_once()
    assert holders["cam-a"].current().detector is None
    assert holders["cam-a"].current().model_version == NO_MODEL
    assert model_info(metrics, "cam-a", NO_MODEL) == 1


def test_swaps_to_the_released_model_and_restores_it_after_restart(
    env, make_yolo_onnx, tmp_path: Path
) -> None:
    store, metrics, holders, make_sync = env
    ref = publish(store, "v1", make_yolo_onnx(BOX_A, name="v1.onnx").read_bytes())
    release(store, "r1", ref)
    sync = make_sync()
    sync.restore(None, "local")
    sync.poll_once()
    active = holders["cam-a"].current()
    assert active.model_version == "v1" and active.origin == "manifest"
    assert len(active.detector.detect(np.zeros((48, 64, 3), np.uint8)).detections) == 1
    assert model_info(metrics, "cam-a", "v1") == 1
    assert model_info(metrics, "cam-a", NO_MODEL) is None
    state = json.loads((tmp_path / "data" / "models" / "active.json").read_text())
    assert state["cam-b"]["model_version"] == "v1"

    # restart with the store wiped: the cached last good model is used
    (tmp_path / "store" / MANIFEST_KEY).unlink()
    fresh = {"cam-a": ModelHolder("cam-a"), "cam-b": ModelHolder("cam-b")}
    make_sync(fresh).restore(None, "local")
    assert fresh["cam-a"].current().model_version == "v1"
    assert fresh["cam-a"].current().origin == "cache"


def test_sha256_mismatch_is_refused_once_and_the_old_model_kept(env, make_yolo_onnx) -> None:
    store, metrics, holders, make_sync = env
    good = publish(store, "v1", make_yolo_onnx(BOX_A, name="v1.onnx").read_bytes())
    release(store, "r1", good)
    sync = make_sync()
    sync.poll_once()
    bad = publish(store, "v2", make_yolo_onnx(BOX_B, name="v2.onnx").read_bytes(), sha256="0" * 64)
    release(store, "r2", bad)
    sync.poll_once()
    sync.poll_once()  # a refused model is not downloaded and counted again on every poll
    assert holders["cam-a"].current().model_version == "v1"
    assert refusals(metrics, "sha256_mismatch") == 1
    assert model_info(metrics, "cam-a", "v1") == 1


def test_a_file_that_is_not_a_model_is_refused(env) -> None:
    store, metrics, holders, make_sync = env
    release(store, "r1", publish(store, "v9", b"this is not an onnx file"))
    make_sync().poll_once()
    assert holders["cam-a"].current().detector is None
    assert refusals(metrics, "load_failed") == 1


def test_missing_model_file_and_bad_manifest_are_refused(env) -> None:
    store, metrics, holders, make_sync = env
    sync = make_sync()
    release(store, "r1", ModelRef(model_version="v5", uri=model_key("v5"), sha256="a" * 64))
    sync.poll_once()
    assert refusals(metrics, "missing") == 1
    store.put(MANIFEST_KEY, b'{"schema_version": 1, "release_id": "r2"}', "application/json")
    sync.poll_once()
    sync.poll_once()
    assert refusals(metrics, "bad_manifest") == 1
    assert holders["cam-a"].current().detector is None


def test_canary_cameras_get_the_canary(env, make_yolo_onnx) -> None:
    store, metrics, holders, make_sync = env
    champion = publish(store, "v1", make_yolo_onnx(BOX_A, name="v1.onnx").read_bytes())
    cand = publish(store, "v2", make_yolo_onnx(BOX_B, name="v2.onnx").read_bytes())
    canary = CanaryModel(**cand.__dict__, cameras=("cam-b",))
    release(store, "r2", champion, canary)
    make_sync().poll_once()
    assert holders["cam-a"].current().model_version == "v1"
    assert holders["cam-b"].current().model_version == "v2"
    assert model_info(metrics, "cam-b", "v2") == 1


def test_configured_model_path_is_the_fallback(env, make_yolo_onnx, tmp_path: Path) -> None:
    _, metrics, holders, make_sync = env
    make_sync().restore(make_yolo_onnx(BOX_A, name="local.onnx"), "factory")
    assert holders["cam-a"].current().model_version == "factory"
    assert holders["cam-a"].current().origin == "config"
    # a broken fallback is refused and reported, the agent still starts
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"garbage")
    other = {"cam-c": ModelHolder("cam-c")}
    make_sync(other).restore(broken, "factory")
    assert other["cam-c"].current().detector is None
    assert refusals(metrics, "load_failed") == 1


def test_a_new_model_is_warmed_up_on_the_frame_sizes_the_cameras_send(
    env, make_yolo_onnx, monkeypatch
) -> None:
    """A dynamic-shape model compiles an input shape per frame size; the swap must not leave
    that to the first real frame after it."""
    from edge_agent.detector.yolo import YoloDetector

    warmed: dict[str, frozenset | None] = {}
    real_warmup = YoloDetector.warmup

    def spy(self, n=2, frame_sizes=None):
        warmed[self.model_version] = frame_sizes
        return real_warmup(self, n, frame_sizes)

    monkeypatch.setattr(YoloDetector, "warmup", spy)
    store, _, holders, make_sync = env
    v1 = make_yolo_onnx(BOX_A, name="v1.onnx", dynamic=True)
    release(store, "r1", publish(store, "v1", v1.read_bytes()))
    sync = make_sync()
    sync.poll_once()
    holders["cam-a"].current().detector.detect(np.zeros((480, 640, 3), np.uint8))
    holders["cam-b"].current().detector.detect(np.zeros((720, 1280, 3), np.uint8))
    v2 = make_yolo_onnx(BOX_B, name="v2.onnx", dynamic=True)
    release(store, "r2", publish(store, "v2", v2.read_bytes()))
    sync.poll_once()
    assert holders["cam-a"].current().model_version == "v2"
    assert warmed == {"v1": None, "v2": frozenset({(480, 640), (720, 1280)})}
