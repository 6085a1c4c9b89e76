"""Shadow mode on the agent's own parts: a release names a shadow model for some cameras; model
sync loads it (sha256-checked) into their shadow slots; each camera offers its finished frames to
its shadow worker, which compares the two models off the camera's thread.

The models are hand-built fixed tables (``build_yolo_onnx``): the champion sees one confident
``with_mask`` face, an identical shadow the same, a class-swapped shadow the same box as
``without_mask``. Verdicts are counts known by construction; the slow shadow blocks on an Event
that is set only after the camera has read every frame, so no verdict depends on timing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge_agent.camera_worker import CameraWorker
from edge_agent.config import CameraConfig, WatchdogConfig
from edge_agent.detector import DetectorConfig
from edge_agent.frames import Frame
from edge_agent.metrics import AgentMetrics
from edge_agent.model_sync import ModelHolder, ModelSync, ModelSyncConfig
from edge_agent.outbox import Outbox, OutboxConfig
from edge_agent.priority import thread_nice
from edge_agent.shadow import SHADOW_RULE, FrameShare, ShadowConfig, ShadowSlot, ShadowWorker
from edge_agent.telemetry import TelemetryBatcher, TelemetryConfig, shadow_batcher
from edge_agent.transport import LocalDirTransport
from maskops_contracts import MANIFEST_KEY, ModelRef, ReleaseManifest, SampleRecord, model_key
from maskops_contracts.manifest import ShadowModel

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CHAMPION = [((16.0, 16.0, 48.0, 48.0), (0.9, 0.05, 0.05))]  # a confident with_mask face
SWAPPED = [((16.0, 16.0, 48.0, 48.0), (0.05, 0.9, 0.05))]  # the same face, without_mask
CAMERAS = ("cam-a", "cam-b")


def frame(camera: str, i: int) -> Frame:
    rng = np.random.default_rng(i)  # distinct pictures: no near-duplicate suppression
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return Frame(camera, i, image, T0 + timedelta(seconds=i), "test://" + camera)


def publish(store: LocalDirTransport, version: str, data: bytes) -> ModelRef:
    store.put(model_key(version), data, "application/octet-stream")
    return ModelRef(version, model_key(version), hashlib.sha256(data).hexdigest(), imgsz=64)


@dataclasses.dataclass
class Rig:
    workers: dict[str, CameraWorker]
    slots: dict[str, ShadowSlot]
    shadow_rows: list
    telemetry_rows: list
    samples: list[tuple[SampleRecord, float]]

    def run(self, camera: str, n: int) -> None:
        worker = self.workers[camera]
        for i in range(n):
            worker.process(frame(camera, i))

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.shadow.stop(timeout=60)


@pytest.fixture
def rig(tmp_path: Path, make_yolo_onnx):
    outboxes = []

    def make(shadow_boxes, *, cameras=("cam-a",), frame_share=1.0, cfg=None, same_file=False):
        cfg = cfg or ShadowConfig()
        store = LocalDirTransport(tmp_path / "store")
        champion_bytes = make_yolo_onnx(CHAMPION, name="v1.onnx", dynamic=True).read_bytes()
        champion = publish(store, "v1", champion_bytes)
        shadow_bytes = (
            champion_bytes
            if same_file
            else make_yolo_onnx(shadow_boxes, name="v2.onnx", dynamic=True).read_bytes()
        )
        shadow = publish(store, "v2", shadow_bytes)
        manifest = ReleaseManifest(
            "r1",
            champion,
            shadow=ShadowModel(**shadow.__dict__, cameras=tuple(cameras), frame_share=frame_share),
        )
        store.put(MANIFEST_KEY, manifest.to_json().encode(), "application/json")
        metrics = AgentMetrics()
        outbox = Outbox(tmp_path / "outbox", OutboxConfig(), store)
        outboxes.append(outbox)
        samples: list[tuple[SampleRecord, float]] = []
        real_enqueue = outbox.enqueue

        def enqueue(kind, parts, priority):
            if kind == "sample":
                samples.append((SampleRecord.from_json(parts[1].data), priority))
            return real_enqueue(kind, parts, priority)

        outbox.enqueue = enqueue  # type: ignore[method-assign]
        telemetry = TelemetryBatcher(TelemetryConfig(batch_rows=10_000), outbox)
        shadows = shadow_batcher(TelemetryConfig(batch_rows=10_000), outbox)
        telemetry_rows, shadow_rows = [], []
        real_add, real_shadow_add = telemetry.add, shadows.add
        telemetry.add = lambda row: (telemetry_rows.append(row), real_add(row))  # type: ignore[method-assign]
        shadows.add = lambda row: (shadow_rows.append(row), real_shadow_add(row))  # type: ignore[method-assign]
        holders = {c: ModelHolder(c) for c in CAMERAS}
        slots = {c: ShadowSlot() for c in CAMERAS}
        sync = ModelSync(
            ModelSyncConfig(warmup_frames=1),
            DetectorConfig(runtime="openvino", threads=1),
            store,
            tmp_path / "models",
            holders,
            metrics,
            shadow_slots=slots,
            shadow_cfg=cfg,
        )
        sync.poll_once()
        workers = {}
        for c in CAMERAS:
            cam_cfg = CameraConfig.model_validate(
                {"camera_id": c, "source": {"kind": "video", "uri": "unused.mp4"}, "gate": {"target_fps": 0}}
            )
            shadow = ShadowWorker(c, slots[c], cfg, shadows, outbox, metrics, sampler_cfg=cam_cfg.sampler)
            shadow.start()
            workers[c] = CameraWorker(
                cam_cfg, holders[c], outbox, telemetry, metrics, watchdog=WatchdogConfig(), shadow=shadow
            )
        return Rig(workers, slots, shadow_rows, telemetry_rows, samples)

    yield make
    for outbox in outboxes:
        outbox.close()


def test_the_share_picks_frames_evenly_and_exactly():
    share = FrameShare()
    picked = [i for i in range(1, 101) if share.take(0.1)]
    assert picked == list(range(10, 101, 10))
    share.reset()
    assert sum(share.take(1.0) for _ in range(7)) == 7
    assert sum(share.take(0.25) for _ in range(40)) == 10


def test_only_shadow_cameras_compare_and_an_identical_shadow_agrees_fully(rig):
    r = rig(CHAMPION, cameras=("cam-a",), same_file=True)
    assert r.slots["cam-a"].current() is not None and r.slots["cam-b"].current() is None
    # the shadow is its own detector, even for the very file the camera runs
    assert r.slots["cam-a"].current().detector is not r.workers["cam-a"].holder.current().detector
    for camera in CAMERAS:
        r.run(camera, 12)
    r.stop()
    a, b = r.workers["cam-a"].shadow, r.workers["cam-b"].shadow
    assert a.counters.offered == 12 and a.counters.compared >= 1
    assert a.counters.compared + a.counters.dropped == 12 and a.counters.failed == 0
    assert b.counters.offered == 0 and b.health() is None
    assert {row.camera_id for row in r.shadow_rows} == {"cam-a"}
    assert len(r.shadow_rows) == a.counters.compared
    assert sum(row.dropped_before for row in r.shadow_rows) <= a.counters.dropped
    for row in r.shadow_rows:
        assert (row.model_version, row.shadow_model_version) == ("v1", "v2")
        assert (row.champion_boxes, row.shadow_boxes, row.matched, row.class_agreed) == (1, 1, 1, 1)
        assert row.agreement == 1.0 and row.mean_confidence_delta == pytest.approx(0.0, abs=1e-6)
    health = r.workers["cam-a"].health()["shadow"]
    assert health["model_version"] == "v2" and health["agreement"] == 1.0
    assert health["frames_compared"] == a.counters.compared
    assert r.workers["cam-b"].health()["shadow"] is None
    assert not [s for s, _ in r.samples if s.reason.rule == SHADOW_RULE]  # nothing to disagree on
    # the cameras' own rows: every frame, the same for the camera with a shadow and the one without
    per_camera = {c: [x for x in r.telemetry_rows if x.camera_id == c] for c in CAMERAS}
    assert len(per_camera["cam-a"]) == len(per_camera["cam-b"]) == 12


def test_a_class_swapped_shadow_reports_the_disagreement_on_that_class_and_keeps_the_frame(rig):
    r = rig(SWAPPED, cameras=("cam-a", "cam-b"), cfg=ShadowConfig(max_samples_per_minute=None))
    r.run("cam-a", 6)
    r.stop()
    assert r.shadow_rows and len(r.shadow_rows) == r.workers["cam-a"].shadow.counters.compared
    for row in r.shadow_rows:
        assert (row.matched, row.class_agreed, row.champion_only, row.shadow_only) == (1, 0, 0, 0)
        assert row.class_mismatches == {"with_mask": 1, "without_mask": 0, "mask_weared_incorrect": 0}
        assert row.agreement == 0.0
    health = r.workers["cam-a"].health()["shadow"]
    assert health["agreement"] == 0.0 and health["class_mismatches"]["with_mask"] == len(r.shadow_rows)
    kept = [(s, p) for s, p in r.samples if s.reason.rule == SHADOW_RULE]
    # every compared frame disagrees fully; the camera's own rules kept none of them (confident box)
    assert len(kept) == len(r.shadow_rows) == health["samples_kept"]
    assert all(s.model_version == "v1" and s.detections[0].class_name == "with_mask" for s, _ in kept)
    assert all(p == pytest.approx(ShadowConfig().sample_priority) for _, p in kept)
    assert not [s for s, _ in r.samples if s.reason.rule != SHADOW_RULE]


class _Blocked:
    """A shadow detector that does not return before ``release`` is set (a very slow model)."""

    def __init__(self, detector, release: threading.Event) -> None:
        self._detector, self._release = detector, release
        self.started = threading.Event()

    def detect(self, image):
        self.started.set()
        assert self._release.wait(60), "the test never released the shadow model"
        return self._detector.detect(image)


@pytest.mark.parametrize("queue_size", [1, 2])
def test_a_blocked_shadow_costs_the_camera_no_frame_and_its_dropped_frames_are_counted(rig, queue_size):
    r = rig(SWAPPED, frame_share=0.1, cfg=ShadowConfig(queue_size=queue_size))
    release = threading.Event()
    slot = r.slots["cam-a"]
    blocked = _Blocked(slot.current().detector, release)
    slot.set(dataclasses.replace(slot.current(), detector=blocked))
    worker = r.workers["cam-a"]
    r.run("cam-a", 200)  # returns although the shadow model has not finished a single frame
    assert not release.is_set()
    assert blocked.started.wait(60)  # the shadow thread runs (at the shadow's nice value, on Linux)
    if sys.platform.startswith("linux"):
        assert thread_nice(worker.shadow._thread.native_id) == ShadowConfig().nice == 19
    counters = worker.shadow.counters
    # the camera: every frame analysed and reported, as without a shadow
    assert worker.counters.frames_analysed == 200
    assert len([x for x in r.telemetry_rows if x.camera_id == "cam-a"]) == 200
    # the shadow: exactly a tenth of the frames offered, all but what one run and the queue hold dropped
    assert counters.offered == 20 and counters.compared == 0
    assert counters.dropped >= 20 - 1 - queue_size
    release.set()
    r.stop()
    assert counters.compared == counters.offered - counters.dropped <= 1 + queue_size
    assert worker.health()["shadow"]["frames_dropped"] == counters.dropped
    assert sum(row.dropped_before for row in r.shadow_rows) <= counters.dropped


def test_a_later_release_without_the_shadow_empties_the_slot(rig, tmp_path: Path):
    r = rig(CHAMPION, cameras=("cam-a",), same_file=True)
    store = LocalDirTransport(tmp_path / "store")
    manifest = ReleaseManifest.from_json(store.get(MANIFEST_KEY))
    store.put(
        MANIFEST_KEY,
        dataclasses.replace(manifest, release_id="r2", shadow=None).to_json().encode(),
        "application/json",
    )
    sync = ModelSync(
        ModelSyncConfig(warmup_frames=1),
        DetectorConfig(runtime="openvino", threads=1),
        store,
        tmp_path / "models",
        {c: w.holder for c, w in r.workers.items()},
        AgentMetrics(),
        shadow_slots=r.slots,
    )
    sync.poll_once()
    assert r.slots["cam-a"].current() is None
    r.run("cam-a", 5)
    r.stop()
    assert r.workers["cam-a"].shadow.counters.offered == 0 and not r.shadow_rows


def test_stopping_does_not_wait_forever_for_a_shadow_model_that_never_returns(rig, caplog):
    r = rig(SWAPPED, cameras=("cam-a",))
    release = threading.Event()
    slot = r.slots["cam-a"]
    blocked = _Blocked(slot.current().detector, release)
    slot.set(dataclasses.replace(slot.current(), detector=blocked))
    r.run("cam-a", 3)
    assert blocked.started.wait(30)
    shadow = r.workers["cam-a"].shadow
    shadow.stop(timeout=0.2)  # the queue is full and the model busy: it gives up, it does not hang
    assert shadow._thread.is_alive() and "still busy after 0.2 s" in caplog.text
    assert r.workers["cam-a"].counters.frames_analysed == 3
    release.set()
    shadow._thread.join(30)
    assert not shadow._thread.is_alive()


def test_a_new_shadow_model_starts_its_own_counts(rig):
    """Counts and agreement are one shadow model's: a release naming another starts them anew, and
    a frame queued for the old model before the change is counted for neither."""
    r = rig(CHAMPION, cameras=("cam-a",), same_file=True)
    r.run("cam-a", 5)
    slot = r.slots["cam-a"]
    slot.set(dataclasses.replace(slot.current(), model_version="v3", sha256="3" * 64))
    worker = r.workers["cam-a"]
    for i in range(5, 12):
        worker.process(frame("cam-a", i))
    r.stop()
    counters = worker.shadow.counters
    assert counters.shadow == ("v3", "3" * 64)
    assert counters.offered == 7 and counters.compared + counters.dropped == 7
    assert counters.compared == len([row for row in r.shadow_rows if row.shadow_model_version == "v3"])
    health = worker.health()["shadow"]
    assert health["model_version"] == "v3" and health["frames_offered"] == 7
