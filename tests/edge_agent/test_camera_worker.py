"""The camera worker's pipeline: frames in flight finish in order, on the model they started on,
and a failure belongs to its own frame only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge_agent.camera_worker import CameraWorker
from edge_agent.config import CameraConfig, WatchdogConfig
from edge_agent.detector import DetectorConfig, load_detector
from edge_agent.frames import Frame
from edge_agent.gate import FrameGate, GateConfig
from edge_agent.metrics import AgentMetrics
from edge_agent.model_sync import ActiveModel, ModelHolder
from edge_agent.outbox import Outbox, OutboxConfig
from edge_agent.telemetry import TelemetryBatcher, TelemetryConfig
from edge_agent.transport import LocalDirTransport

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _frame(i: int, level: int = 128, size: tuple[int, int] = (48, 64)) -> Frame:
    image = np.full((*size, 3), level, np.uint8)
    image[0, 0] = i  # distinct frames
    return Frame("cam", i, image, T0 + timedelta(seconds=i), "test://cam")


@pytest.fixture
def worker_env(tmp_path: Path, make_yolo_onnx):
    path = make_yolo_onnx([((16.0, 16.0, 48.0, 48.0), (0.55, 0.40, 0.05))], imgsz=64, dynamic=True)

    def detector(version: str, streams: int):
        cfg = DetectorConfig(runtime="openvino", threads=2, streams=streams)
        return ActiveModel(load_detector(path, model_version=version, cfg=cfg), version, None, "config")

    holder = ModelHolder("cam")
    outbox = Outbox(tmp_path / "outbox", OutboxConfig(), LocalDirTransport(tmp_path / "store"))
    telemetry = TelemetryBatcher(TelemetryConfig(batch_rows=10_000), outbox)
    rows = []
    real_add = telemetry.add
    telemetry.add = lambda row: (rows.append(row), real_add(row))  # type: ignore[method-assign]
    cfg = CameraConfig.model_validate(
        {"camera_id": "cam", "source": {"kind": "video", "uri": "unused.mp4"}, "gate": {"target_fps": 0}}
    )
    worker = CameraWorker(cfg, holder, outbox, telemetry, AgentMetrics(), watchdog=WatchdogConfig())
    yield worker, holder, detector, rows
    outbox.close()


class _NeverDoneEarly:
    """Wraps a detector so no pass reports itself finished before ``result`` is called (or, with
    ``finished``, before that event is set): the worker then holds exactly the frames its limit
    allows, whatever the speed of the real passes."""

    def __init__(self, detector, finished: threading.Event | None = None) -> None:
        self._detector = detector
        self.streams = detector.streams
        self.runtime, self.precision = detector.runtime, detector.precision
        self._finished = finished or threading.Event()

    def submit(self, image):
        pending = self._detector.submit(image)
        finished = self._finished

        class Pending:
            done = staticmethod(finished.is_set)
            result = staticmethod(pending.result)

        return Pending()


def _held(active: ActiveModel, finished: threading.Event | None = None) -> ActiveModel:
    return ActiveModel(_NeverDoneEarly(active.detector, finished), active.model_version, None, "config")


def test_frames_in_flight_finish_in_order_and_the_pipeline_stays_full(worker_env):
    worker, holder, detector, rows = worker_env
    holder.swap(_held(detector("v1", streams=2)))
    for i in range(8):
        worker.submit(_frame(i))
        # two streams: up to four frames in flight, three between calls (both streams busy
        # while this thread post-processes the oldest)
        assert len(worker._in_flight) == min(i + 1, 3)
        assert worker.counters.frames_analysed == max(0, i - 2)
    worker.finish_in_flight()
    assert worker.counters.frames_analysed == 8
    assert [r.ts for r in rows] == [T0 + timedelta(seconds=i) for i in range(8)]
    assert all(r.num_detections == 1 and r.inference_ms > 0 for r in rows)
    # how the model ran each frame: a model given by path runs fp32 (nothing measured bf16)
    assert {(r.runtime, r.precision) for r in rows} == {("openvino", "fp32")}
    health = worker.health()
    assert (health["model_version"], health["runtime"], health["precision"]) == ("v1", "openvino", "fp32")


def test_finished_passes_are_collected_without_waiting_for_a_full_pipeline(worker_env):
    worker, holder, detector, rows = worker_env
    finished = threading.Event()
    holder.swap(_held(detector("v1", streams=2), finished))
    worker.submit(_frame(0))
    assert [i.frame.index for i in worker._in_flight] == [0]
    assert worker.counters.frames_analysed == 0
    finished.set()  # the passes end in the background
    worker.submit(_frame(1))
    assert worker.counters.frames_analysed >= 1  # frame 0 collected although the pipeline is not full
    assert worker.counters.frames_analysed == 2 and not worker._in_flight
    worker.finish_in_flight()
    assert [r.ts.second for r in rows] == [0, 1]


def test_a_swap_lands_between_frames_and_in_flight_frames_finish_on_their_model(worker_env):
    worker, holder, detector, rows = worker_env
    holder.swap(_held(detector("v1", streams=2)))
    worker.submit(_frame(0))
    worker.submit(_frame(1))
    assert [i.frame.index for i in worker._in_flight] == [0, 1]  # both still running on v1
    holder.swap(_held(detector("v2", streams=2)))
    worker.submit(_frame(2))
    worker.submit(_frame(3))
    worker.finish_in_flight()
    assert [r.model_version for r in rows] == ["v1", "v1", "v2", "v2"]


def test_a_failing_frame_is_counted_against_itself_and_the_others_finish(worker_env, monkeypatch):
    worker, holder, detector, rows = worker_env
    holder.swap(detector("v1", streams=2))
    real_finish = worker._finish

    def finish(item):
        if item.frame.index == 1:
            raise RuntimeError("decode blew up")
        real_finish(item)

    monkeypatch.setattr(worker, "_finish", finish)
    for i in range(4):
        worker.submit(_frame(i))
    worker.finish_in_flight()
    assert worker.counters.frame_errors == 1
    assert [r.ts.second for r in rows] == [0, 2, 3]


def test_a_gated_frame_flushes_the_pipeline(worker_env):
    """With frames skipped by the gate nothing new overlaps the pass: in-flight ones finish now."""
    worker, holder, detector, _ = worker_env
    holder.swap(_held(detector("v1", streams=2)))
    worker.gate = FrameGate(GateConfig(target_fps=1.0))
    worker.submit(_frame(0))
    assert worker.counters.frames_analysed == 0  # in flight
    skipped = Frame("cam", 1, _frame(1).image, T0 + timedelta(seconds=0.5), "test://cam")
    worker.submit(skipped)  # within the 1 fps cap: not analysed
    assert worker.counters.frames_analysed == 1


def test_without_a_model_frames_still_give_telemetry_and_are_counted_apart(worker_env):
    worker, _, _, rows = worker_env
    worker.process(_frame(0))
    # the detector did not run on it: not "analysed", but counted (summary, /healthz, metrics)
    assert (worker.counters.frames_analysed, worker.counters.frames_without_model) == (0, 1)
    assert worker.metrics.registry.get_sample_value(
        "maskops_edge_frames_without_model_total", {"camera": "cam"}
    ) == 1
    assert worker.health()["frames_without_model"] == 1
    assert rows[0].model_version == "none" and rows[0].num_detections == 0
    assert (rows[0].runtime, rows[0].precision) == (None, None)
    health = worker.health()
    assert (health["model_version"], health["runtime"], health["precision"]) == ("none", None, None)


def test_frames_in_flight_finish_while_a_live_stream_stalls(worker_env, monkeypatch):
    """A live source yields None when a read fails or the stream drops; the frames the worker
    holds are finished then, not when the stream comes back (possibly hours later)."""
    import edge_agent.camera_worker as camera_worker
    from edge_agent.sources import SourceStats

    worker, holder, detector, rows = worker_env
    holder.swap(_held(detector("v1", streams=2)))
    seen_after_stall: list[int] = []

    class StallingStream:
        stats = SourceStats()
        description = "rtsp://cam"

        def frames(self, stop):
            yield _frame(0)
            yield _frame(1)
            assert worker.counters.frames_analysed == 0  # both still in flight
            yield None  # the stream stalls
            seen_after_stall.append(worker.counters.frames_analysed)
            worker.stop.set()

        def close(self):
            pass

    monkeypatch.setattr(camera_worker, "open_source", lambda camera_id, cfg: StallingStream())
    worker.run_once()
    assert seen_after_stall == [2]
    assert [r.ts.second for r in rows] == [0, 1]


def test_a_file_source_waits_a_bounded_time_for_its_first_model(worker_env, caplog):
    """No model and no first poll yet: the wait ends at its bound, logged, and the frames read
    after it are counted as frames without a model."""
    import logging

    caplog.set_level(logging.INFO, logger="edge_agent")
    worker, holder, detector, _ = worker_env
    worker.first_model_wait_s = 0.2
    worker.first_poll_done = threading.Event()  # never set: model sync is still polling
    worker.wait_for_first_model()
    events = [getattr(r, "event", None) for r in caplog.records]
    assert "camera_waiting_for_model" in events and "camera_no_model" in events

    # a model that arrives during the wait ends it at once
    caplog.clear()
    active = detector("v1", streams=1)
    threading.Timer(0.05, holder.swap, [active]).start()
    worker.first_model_wait_s = 600
    worker.wait_for_first_model()  # returns when the swap lands (not after 600 s)
    assert holder.current().model_version == "v1"
    assert "camera_model_ready" in [getattr(r, "event", None) for r in caplog.records]
