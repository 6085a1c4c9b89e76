"""Model sync: follow the manifest, verify sha256, hot-swap per camera, refuse bad models, cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.properties.device as ov_device
import openvino.properties.hint as ov_hint
import pytest

from edge_agent.detector.base import DetectorConfig, load_detector
from edge_agent.metrics import AgentMetrics
from edge_agent.model_sync import NO_MODEL, ActiveModel, ModelHolder, ModelSync, ModelSyncConfig
from edge_agent.transport import LocalDirTransport
from maskops_contracts import (
    MANIFEST_KEY,
    CanaryModel,
    ModelRef,
    ModelVariant,
    ReleaseManifest,
    model_key,
)

#: Asked of OpenVINO itself: tests of bf16 assert what must happen on this CPU, either way.
CPU_OFFERS_BF16 = "BF16" in ov.Core().get_property("CPU", ov_device.capabilities)

BOX_A = [((16.0, 16.0, 48.0, 48.0), (0.55, 0.40, 0.05))]
BOX_B = [((8.0, 8.0, 40.0, 40.0), (0.10, 0.80, 0.10))]


def publish(
    store: LocalDirTransport,
    version: str,
    data: bytes,
    *,
    sha256: str | None = None,
    measured: tuple[tuple[str, str], ...] = (),
) -> ModelRef:
    """Put a model into the store; ``measured``: the (precision, runtime) pairs the gate measured
    (none: a manifest as written before variants, which means fp32)."""
    key = model_key(version)
    store.put(key, data, "application/octet-stream")
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    variants = tuple(ModelVariant(p, r, key, sha256, map50=0.9, map50_95=0.6) for p, r in measured)
    return ModelRef(model_version=version, uri=key, sha256=sha256, imgsz=64, variants=variants)


def release(
    store: LocalDirTransport, release_id: str, champion: ModelRef, canary: CanaryModel | None = None
) -> None:
    manifest = ReleaseManifest(release_id=release_id, champion=champion, canary=canary)
    store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")


def refusals(metrics: AgentMetrics, reason: str) -> float:
    return metrics.registry.get_sample_value("maskops_edge_model_refusals_total", {"reason": reason}) or 0.0


def model_info(metrics: AgentMetrics, camera: str, version: str, **labels: str) -> float | None:
    """The model-info sample of ``camera`` at ``version`` (and the other ``labels`` given)."""
    wanted = {"camera": camera, "model_version": version, **labels}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "maskops_edge_model_info" and wanted.items() <= sample.labels.items():
                return sample.value
    return None


@pytest.fixture
def env(tmp_path: Path):
    store = LocalDirTransport(tmp_path / "store")
    metrics = AgentMetrics()
    holders = {"cam-a": ModelHolder("cam-a"), "cam-b": ModelHolder("cam-b")}

    def make_sync(h: dict[str, ModelHolder] | None = None, **detector: str) -> ModelSync:
        return ModelSync(
            ModelSyncConfig(poll_interval_s=1, warmup_frames=1),
            DetectorConfig(threads=1, **detector),
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


# ---------------------------------------------------------------- precision against the release
def compiled_precision(active: ActiveModel) -> str:
    """The precision the camera's compiled model runs at, read from OpenVINO (64x64 input)."""
    element = active.detector.backend.compiled_model(64, 64).get_property(ov_hint.inference_precision)
    return {ov.Type.f32: "fp32", ov.Type.bf16: "bf16"}[element]


def test_auto_runs_bf16_only_where_the_release_measured_it_and_the_cpu_offers_it(
    env, make_yolo_onnx, tmp_path: Path
) -> None:
    store, metrics, holders, make_sync = env
    both = (("fp32", "openvino"), ("bf16", "openvino"))
    ref = publish(store, "v1", make_yolo_onnx(BOX_A, name="v1.onnx").read_bytes(), measured=both)
    release(store, "r1", ref)
    sync = make_sync(runtime="openvino")
    sync.poll_once()
    expected = "bf16" if CPU_OFFERS_BF16 else "fp32"
    active = holders["cam-a"].current()
    assert (active.model_version, active.runtime, active.precision) == ("v1", "openvino", expected)
    assert compiled_precision(active) == expected
    assert model_info(metrics, "cam-a", "v1", runtime="openvino", precision=expected) == 1

    # the variants travel into the cache: after a restart the same precision, from the same facts
    state = json.loads((tmp_path / "data" / "models" / "active.json").read_text())
    assert [v["precision"] for v in state["cam-a"]["variants"]] == ["fp32", "bf16"]
    fresh = {"cam-a": ModelHolder("cam-a")}
    make_sync(fresh, runtime="openvino").restore(None, "local")
    assert (fresh["cam-a"].current().origin, fresh["cam-a"].current().precision) == ("cache", expected)

    # a release from before variants was measured at fp32: every CPU runs it at fp32
    release(store, "r2", publish(store, "v2", make_yolo_onnx(BOX_B, name="v2.onnx").read_bytes()))
    sync.poll_once()
    active = holders["cam-a"].current()
    assert (active.model_version, active.precision, compiled_precision(active)) == ("v2", "fp32", "fp32")
    assert model_info(metrics, "cam-a", "v2", runtime="openvino", precision="fp32") == 1
    assert model_info(metrics, "cam-a", "v1") is None


def test_an_explicit_bf16_is_refused_for_a_release_that_did_not_measure_it(
    env, make_yolo_onnx, caplog
) -> None:
    """detector.precision bf16 and a release measured at fp32 only: refused (counted, logged),
    and the camera keeps the model it runs. Where this CPU lacks bf16 the refusal says that."""
    store, metrics, holders, make_sync = env
    v1 = make_yolo_onnx(BOX_A, name="v1.onnx")
    running = load_detector(v1, model_version="v1", cfg=DetectorConfig(threads=1, precision="fp32"))
    for holder in holders.values():
        holder.swap(ActiveModel(running, "v1", hashlib.sha256(v1.read_bytes()).hexdigest(), "manifest"))
    sync = make_sync(runtime="openvino", precision="bf16")
    v2 = make_yolo_onnx(BOX_B, name="v2.onnx").read_bytes()
    release(store, "r2", publish(store, "v2", v2, measured=(("fp32", "openvino"), ("bf16", "onnxruntime"))))
    sync.poll_once()
    sync.poll_once()  # refused once, not on every poll
    reason = "precision_not_measured" if CPU_OFFERS_BF16 else "precision_not_offered"
    assert refusals(metrics, reason) == 1
    assert (holders["cam-a"].current().model_version, holders["cam-a"].current().precision) == ("v1", "fp32")
    [refused] = [r for r in caplog.records if getattr(r, "event", "") == "model_refused"]
    assert refused.reason == reason and "camera cam-a keeps v1" in refused.getMessage()
    assert ("measured fp32 on openvino" if CPU_OFFERS_BF16 else "which offers fp32") in refused.getMessage()

    # a release that measured bf16 on this runtime runs at bf16, where the CPU has it
    release(store, "r3", publish(store, "v3", v2, measured=(("bf16", "openvino"),)))
    sync.poll_once()
    active = holders["cam-a"].current()
    if CPU_OFFERS_BF16:
        assert (active.model_version, active.precision, compiled_precision(active)) == ("v3", "bf16", "bf16")
    else:
        assert active.model_version == "v1" and refusals(metrics, "precision_not_offered") == 2


def test_a_configured_model_path_at_an_unoffered_precision_is_refused_with_its_reason(
    env, make_yolo_onnx
) -> None:
    _, metrics, holders, make_sync = env
    local = make_yolo_onnx(BOX_A, name="local.onnx")
    make_sync(runtime="openvino", precision="bf16").restore(local, "factory")
    active = holders["cam-a"].current()
    if CPU_OFFERS_BF16:  # no release gate for a local model: the operator asked for bf16
        assert (active.model_version, active.precision, compiled_precision(active)) == (
            "factory",
            "bf16",
            "bf16",
        )
    else:
        assert active.detector is None and refusals(metrics, "precision_not_offered") == 1
        assert model_info(metrics, "cam-a", NO_MODEL, runtime="none", precision="none") == 1


def test_a_release_measured_on_another_runtime_only_is_refused(env, make_yolo_onnx) -> None:
    """The release lists what its gate measured per runtime: an agent on ONNX Runtime does not
    run a model measured on OpenVINO only (on any CPU), and runs the next one that was."""
    store, metrics, holders, make_sync = env
    sync = make_sync(runtime="onnxruntime")
    v1 = make_yolo_onnx(BOX_A, name="v1.onnx").read_bytes()
    release(store, "r1", publish(store, "v1", v1, measured=(("fp32", "openvino"), ("bf16", "openvino"))))
    sync.poll_once()
    assert holders["cam-a"].current().detector is None
    assert refusals(metrics, "precision_not_measured") == 1
    release(store, "r2", publish(store, "v2", v1, measured=(("fp32", "openvino"), ("fp32", "onnxruntime"))))
    sync.poll_once()
    active = holders["cam-a"].current()
    assert (active.model_version, active.runtime, active.precision) == ("v2", "onnxruntime", "fp32")
    assert model_info(metrics, "cam-a", "v2", runtime="onnxruntime", precision="fp32") == 1


# ---------------------------------------------------------------- loose ends (issue 9)
def test_a_missing_model_object_is_looked_for_again_with_backoff(tmp_path: Path, make_yolo_onnx) -> None:
    """The manifest was written before the upload finished: once the object is there (and the
    backoff has passed) the cameras run it; it is not refused for the life of the process."""
    store = LocalDirTransport(tmp_path / "store")
    metrics = AgentMetrics()
    holders = {"cam-a": ModelHolder("cam-a")}
    now = [0.0]
    sync = ModelSync(
        ModelSyncConfig(warmup_frames=0, missing_retry_initial_s=10, missing_retry_max_s=100),
        DetectorConfig(threads=1),
        store,
        tmp_path / "models",
        holders,
        metrics,
        clock=lambda: now[0],
    )
    data = make_yolo_onnx(BOX_A, name="v5.onnx").read_bytes()
    ref = ModelRef(model_version="v5", uri=model_key("v5"), sha256=hashlib.sha256(data).hexdigest(), imgsz=64)
    release(store, "r1", ref)  # the object itself is not uploaded yet
    sync.poll_once()
    assert holders["cam-a"].current().detector is None and refusals(metrics, "missing") == 1
    assert sync.refusals["cam-a"]["reason"] == "missing"
    store.put(model_key("v5"), data, "application/octet-stream")
    now[0] = 4.0  # before the first retry is due (at most 10 s): not looked for yet
    sync.poll_once()
    assert holders["cam-a"].current().detector is None
    now[0] = 10.5
    sync.poll_once()
    active = holders["cam-a"].current()
    assert (active.model_version, active.release_id) == ("v5", "r1")
    assert refusals(metrics, "missing") == 1  # counted once, not once per look
    assert sync.refusals == {}


def test_the_model_cache_keeps_current_previous_and_canary_only(env, make_yolo_onnx, tmp_path: Path) -> None:
    store, metrics, holders, make_sync = env
    cache = tmp_path / "data" / "models"
    sync = make_sync()

    def cached() -> set[str]:
        return {p.parent.name.split("-")[0] for p in cache.glob("*/model.onnx")}

    refs = {
        v: publish(store, v, make_yolo_onnx(box, name=f"{v}.onnx").read_bytes())
        for v, box in (("v1", BOX_A), ("v2", BOX_B), ("v3", BOX_A), ("v4", BOX_B))
    }
    release(store, "r1", refs["v1"])
    sync.poll_once()
    release(store, "r2", refs["v2"])
    sync.poll_once()
    assert cached() == {"v1", "v2"}  # current and previous
    # a refused model (the sha256 matches, but it is no model) is not kept either
    release(store, "r-bad", publish(store, "v9", b"not a model at all"))
    sync.poll_once()
    assert refusals(metrics, "load_failed") == 1
    assert cached() == {"v1", "v2"}
    canary = CanaryModel(**refs["v4"].__dict__, cameras=("cam-b",))
    release(store, "r3", refs["v3"], canary)
    sync.poll_once()
    assert holders["cam-a"].current().model_version == "v3"
    assert holders["cam-b"].current().model_version == "v4"
    # cam-a runs v3 (was v2), cam-b the canary v4 (was v2): v1 is superseded
    assert cached() == {"v2", "v3", "v4"}
    state = json.loads((cache / "active.json").read_text())
    assert state["cam-a"]["previous"]["model_version"] == "v2" and state["cam-a"]["release_id"] == "r3"
    # the files that stay are whole: a restart runs them from the cache
    fresh = {"cam-a": ModelHolder("cam-a"), "cam-b": ModelHolder("cam-b")}
    make_sync(fresh).restore(None, "local")
    assert {h.current().origin for h in fresh.values()} == {"cache"}
    assert fresh["cam-b"].current().release_id == "r3"
