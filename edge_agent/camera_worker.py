"""One camera's frame pipeline, in its own thread: source -> gate -> detector -> sampler -> outbox.

Every frame the detector ran on yields a telemetry row, and so does a frame read while the
camera had no model yet (counted apart, in ``frames_without_model``). The worker keeps up to
twice ``detector.streams`` frames in flight: it submits a frame to the detector, then finishes
the oldest ones (decode, telemetry, sampler, outbox) while the runtime works on the newer ones,
so reading and post-processing overlap the forward pass. Frames are finished in the order they
were read, each as soon as its pass has ended or when the pipeline is full.
The worker reads its ``ModelHolder`` once per frame, so a model swap lands between frames:
frames already in flight finish on the model they started on.

Restarts are not this module's business: ``run_once`` runs the pipeline once and says how it
ended, and a ``Watchdog`` (``edge_agent.watchdog``) starts it again with backoff when it died
(a live source that cannot be opened or dropped). A file source (video, folder) that cannot be
opened is reported once and the camera stops, since a corrupt file does not heal. A kept frame
is packaged by ``sample_package``. Failures are counted in ``/metrics`` and logged once per
kind, never silently swallowed, and never reach the other cameras.

With shadow mode (``edge_agent.shadow``) each finished frame is offered to the camera's shadow
worker, which takes a share of them into a small queue and runs the shadow model on its own thread;
a full queue drops the shadow frame, so the camera never waits for the shadow model.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from edge_agent.config import FILE_SOURCE_KINDS, CameraConfig, WatchdogConfig
from edge_agent.detector.types import DetectionResult, PendingResult
from edge_agent.frame_stats import compute_frame_stats, telemetry_row
from edge_agent.frames import Frame
from edge_agent.gate import FrameGate, GateDecision
from edge_agent.logs import OnceLogger, log_event
from edge_agent.metrics import AgentMetrics
from edge_agent.model_sync import ActiveModel, ModelHolder
from edge_agent.outbox import Outbox
from edge_agent.sample_package import package_sample
from edge_agent.sampler import Sampler, SamplingDecision
from edge_agent.shadow import ShadowWorker
from edge_agent.sources import FrameSource, SourceError, SourceStats, open_source
from edge_agent.telemetry import TelemetryBatcher
from edge_agent.watchdog import Outcome, Watchdog

logger = logging.getLogger("edge_agent.camera")

CameraState = Literal["starting", "running", "reconnecting", "ended", "failed", "stopped"]


@dataclass(slots=True)
class _InFlight:
    """A frame submitted to the detector and not yet finished."""

    frame: Frame
    decision: GateDecision
    active: ActiveModel
    pending: PendingResult | None  # None: no model, nothing to wait for


@dataclass
class CameraCounters:
    """What one camera did; the ``--until-sources-end`` summary prints these."""

    frames_read: int = 0
    #: frames the detector ran on
    frames_analysed: int = 0
    #: frames read while the camera had no model (telemetry only, no detections, no samples)
    frames_without_model: int = 0
    samples_kept: int = 0
    samples_dropped: int = 0
    frame_errors: int = 0
    restarts: int = 0


class CameraWorker:
    """Runs one camera until ``stop`` is set or its file source ends."""

    def __init__(
        self,
        cfg: CameraConfig,
        holder: ModelHolder,
        outbox: Outbox,
        telemetry: TelemetryBatcher,
        metrics: AgentMetrics,
        *,
        watchdog: WatchdogConfig,
        jpeg_quality: int = 90,
        stop: threading.Event | None = None,
        first_model_wait_s: float = 0.0,
        first_poll_done: threading.Event | None = None,
        rng: random.Random | None = None,
        shadow: ShadowWorker | None = None,
    ) -> None:
        self.cfg = cfg
        #: the camera's shadow model runner (``edge_agent.shadow``): offered each finished frame
        self.shadow = shadow
        self.camera_id = cfg.camera_id
        self.holder = holder
        self.outbox = outbox
        self.telemetry = telemetry
        self.metrics = metrics
        self.watchdog = watchdog
        self.jpeg_quality = jpeg_quality
        self.stop = stop or threading.Event()
        #: a file source waits up to this long for its first model (0: it does not wait)
        self.first_model_wait_s = first_model_wait_s
        #: set by model sync once its first poll is over: no use waiting for a model after that
        self.first_poll_done = first_poll_done
        self.gate = FrameGate(cfg.gate)
        self.sampler = Sampler(cfg.sampler, cfg.camera_id)
        self.counters = CameraCounters()
        self.state: CameraState = "starting"
        self.last_error: str | None = None
        self.last_frame_at: float | None = None
        # monotonic times of the first and latest analysed frame: the steady-state rate
        # (frames_analysed / analysing_s) leaves out start-up, model loading and the final drain
        self.first_analysed_at: float | None = None
        self.last_analysed_at: float | None = None
        self._source_stats: SourceStats | None = None
        self._seen_reconnects = 0
        self._seen_corrupt = 0
        self._outage_reported = False
        self._stats_lock = threading.Lock()
        self._once = OnceLogger(logger)
        # per-frame metric children, looked up once rather than by label on every frame
        self._frames_read = metrics.frames_read.labels(cfg.camera_id)
        self._frames_analysed = metrics.frames_analysed.labels(cfg.camera_id)
        self._frames_without_model = metrics.frames_without_model.labels(cfg.camera_id)
        self._inference_seconds = metrics.inference_seconds.labels(cfg.camera_id)
        self._in_flight: deque[_InFlight] = deque()
        self._source: FrameSource | None = None  # a live source is kept across restarts
        self._waited_for_model = False
        # one reconnect policy: the source's reconnect_initial_s / reconnect_max_s
        self.supervisor = Watchdog(
            f"camera-{cfg.camera_id}",
            self.run_once,
            stop=self.stop,
            initial_s=cfg.source.reconnect_initial_s,
            max_s=cfg.source.reconnect_max_s,
            progress=lambda: self.counters.frames_read,
            on_restart=self._on_restart,
            rng=rng,
        )
        self._thread = threading.Thread(target=self._run, name=f"camera-{cfg.camera_id}", daemon=True)

    # ------------------------------------------------------------ lifecycle
    @property
    def is_file_source(self) -> bool:
        return self.cfg.source.kind in FILE_SOURCE_KINDS

    @property
    def alive(self) -> bool:
        """True while the worker's thread runs."""
        return self._thread.is_alive()

    @property
    def done(self) -> bool:
        """True once the worker will read no more frames (ended, failed or stopped)."""
        return not self._thread.is_alive() and self.state != "starting"

    def start(self) -> None:
        if self.shadow is not None:
            self.shadow.start()
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self.supervisor.run()
        finally:
            if self._source is not None:
                self._source.close()
                self._source = None
            self.metrics.camera_up.labels(self.camera_id).set(0)
            if self.state not in ("ended", "failed"):
                self.state = "stopped"
            if self.shadow is not None:  # no more frames: let it finish the ones it holds
                self.shadow.stop()

    def _on_restart(self, attempt: int, delay_s: float) -> None:
        self.counters.restarts += 1
        self.metrics.camera_restarts.labels(self.camera_id).inc()
        self.state = "reconnecting"

    def _open(self) -> FrameSource:
        if self._source is None or self.is_file_source:
            self._source = open_source(self.camera_id, self.cfg.source)
        return self._source

    def wait_for_first_model(self) -> None:
        """A file source does not start before the camera has a model: up to ``first_model_wait_s``,
        and no longer than model sync's first poll (after which no model is on its way)."""
        self._waited_for_model = True
        if self.first_model_wait_s <= 0 or self.holder.current().detector is not None:
            return
        log_event(
            logger,
            logging.INFO,
            "camera_waiting_for_model",
            f"camera {self.camera_id}: waiting up to {self.first_model_wait_s:g} s for the first model "
            f"before reading {self.cfg.source.uri} (model_sync.first_model_wait_s)",
            camera_id=self.camera_id,
            wait_s=self.first_model_wait_s,
        )
        started = time.monotonic()
        active = self.holder.wait_for_detector(
            self.first_model_wait_s, stop=self.stop, give_up=self.first_poll_done
        )
        waited = round(time.monotonic() - started, 2)
        if active.detector is not None:
            log_event(
                logger,
                logging.INFO,
                "camera_model_ready",
                f"camera {self.camera_id}: model {active.model_version} ready after {waited} s",
                camera_id=self.camera_id,
                model_version=active.model_version,
                waited_s=waited,
            )
        elif not self.stop.is_set():
            log_event(
                logger,
                logging.WARNING,
                "camera_no_model",
                f"camera {self.camera_id}: no model after {waited} s; reading {self.cfg.source.uri} "
                "without one (those frames are counted in frames_without_model)",
                camera_id=self.camera_id,
                waited_s=waited,
            )

    def run_once(self) -> Outcome:
        """Open the source and pump frames; returns 'ended', 'failed', 'stopped' or 'restart'."""
        if self.is_file_source and not self._waited_for_model:
            self.wait_for_first_model()
            if self.stop.is_set():
                return "stopped"
        try:
            source = self._open()
        except SourceError as err:
            return self._source_failed(err, opening=True)
        with self._stats_lock:
            if self._source_stats is not source.stats:
                self._source_stats = source.stats
                self._seen_reconnects = 0
                self._seen_corrupt = 0
        frames_before = self.counters.frames_read
        try:
            for frame in source.frames(self.stop):
                if frame is None:  # a live source is stalling or dropped: nothing to overlap with
                    self.finish_in_flight()
                else:
                    self._on_frame(frame)
        except SourceError as err:
            return self._source_failed(err, opening=False)
        except Exception as err:  # a source bug must not kill the thread silently; the watchdog restarts it
            return self._source_failed(err, opening=False)
        finally:
            self.finish_in_flight()  # frames already read are never lost, whatever ended the source
            if self.is_file_source:
                source.close()
            self.sync_source_stats()
        if self.stop.is_set():
            return "stopped"
        if self.is_file_source:
            read = self.counters.frames_read - frames_before
            self.state = "ended"
            if read == 0:
                self.last_error = f"{self.cfg.source.uri} ended without a single readable frame"
                log_event(
                    logger,
                    logging.ERROR,
                    "camera_source_empty",
                    f"camera {self.camera_id}: {self.last_error}; is the file corrupt or empty?",
                    camera_id=self.camera_id,
                    source=self.cfg.source.uri,
                )
            else:
                log_event(
                    logger,
                    logging.INFO,
                    "camera_source_ended",
                    f"camera {self.camera_id}: source ended after {read} frames",
                    camera_id=self.camera_id,
                    frames_read=read,
                )
            return "ended"
        return "restart"

    def _source_failed(self, err: Exception, *, opening: bool) -> str:
        self.last_error = str(err)
        self.metrics.camera_up.labels(self.camera_id).set(0)
        if self.is_file_source:
            self.state = "failed"
            log_event(
                logger,
                logging.ERROR,
                "camera_source_failed",
                f"camera {self.camera_id}: cannot read {self.cfg.source.kind} source: {err}; "
                "this camera stops, the others keep running",
                camera_id=self.camera_id,
                error=str(err),
            )
            return "failed"
        with self._stats_lock:
            report = not self._outage_reported
            self._outage_reported = True
        if report:  # one line per outage, shared with sync_source_stats; restarts are counted
            log_event(
                logger,
                logging.ERROR,
                "camera_source_error",
                f"camera {self.camera_id}: {err}; reconnecting with backoff (counted in "
                "maskops_edge_camera_restarts_total)",
                camera_id=self.camera_id,
                error=str(err),
            )
        return "restart"

    # ------------------------------------------------------------ per frame
    def _on_frame(self, frame: Frame) -> None:
        self.counters.frames_read += 1
        self.last_frame_at = time.monotonic()
        if self._outage_reported and self._source_stats is not None:
            # frames flow again: a later outage gets its own log line
            with self._stats_lock:
                self._outage_reported = False
                self._source_stats.last_error = None
        if self.state != "running":
            self.state = "running"
            self.metrics.camera_up.labels(self.camera_id).set(1)
        self._frames_read.inc()
        try:
            self.submit(frame)
        except Exception as err:  # one bad frame must not stop the camera: count, log once, go on
            self._frame_failed(frame, err)

    def _frame_failed(self, frame: Frame, err: Exception) -> None:
        self.counters.frame_errors += 1
        self.metrics.frame_errors.labels(self.camera_id).inc()
        self._once.log(
            logging.ERROR,
            "frame_failed",
            type(err).__name__,
            f"camera {self.camera_id}: frame {frame.index} failed ({err!r}); skipping it "
            "(further failures of this kind are counted in maskops_edge_frame_errors_total)",
            camera_id=self.camera_id,
            frame_index=frame.index,
        )

    def submit(self, frame: Frame) -> None:
        """Gate the frame and start the detector on it; finish the oldest frames beyond the
        detector's ``streams`` (telemetry, sampler, outbox). ``finish_in_flight`` ends the rest."""
        decision = self.gate.admit(frame)
        if not decision.analyse:
            self.metrics.frames_skipped.labels(self.camera_id, decision.reason).inc()
            # nothing new to overlap with: finish what is in flight rather than let a frame
            # wait for the next admitted one (seconds, with motion gating)
            self.finish_in_flight()
            return
        active = self.holder.current()  # read once: a swap lands between frames
        detector = active.detector
        pending = detector.submit(frame.image) if detector is not None else None
        # the letterbox's scaled frame, where a detector exposes it, saves the thumbnail's first step
        frame.thumbnail_from_scaled(getattr(pending, "scaled", None))
        self._in_flight.append(_InFlight(frame, decision, active, pending))
        # Up to twice the detector's streams in flight: while this thread post-processes one
        # frame every stream still has a pass to run (measured on 2 cores: with only `streams`
        # in flight one stream idled during post-processing, 20% fewer frames a second).
        # Frames whose pass has ended are finished at once, so a slow camera adds no delay.
        limit = 2 * detector.streams if detector is not None else 1
        while self._in_flight and (len(self._in_flight) >= limit or self._ready(self._in_flight[0])):
            self._finish_oldest()

    def process(self, frame: Frame) -> None:
        """Gate, detect, record telemetry and maybe keep one frame, all before returning."""
        self.submit(frame)
        self.finish_in_flight()

    def finish_in_flight(self) -> None:
        """Finish every frame still in flight, oldest first."""
        while self._in_flight:
            self._finish_oldest()

    @staticmethod
    def _ready(item: _InFlight) -> bool:
        return item.pending is None or item.pending.done()

    def _finish_oldest(self) -> None:
        item = self._in_flight.popleft()
        try:
            self._finish(item)
        except Exception as err:  # as in _on_frame: the failure belongs to this frame only
            self._frame_failed(item.frame, err)

    def _finish(self, item: _InFlight) -> None:
        frame, active = item.frame, item.active
        if item.pending is not None:
            result = item.pending.result()
            self._inference_seconds.observe(result.inference_ms / 1000.0)
            self.counters.frames_analysed += 1
            self.last_analysed_at = time.monotonic()
            if self.first_analysed_at is None:
                self.first_analysed_at = self.last_analysed_at
            self._frames_analysed.inc()
        else:  # no model: telemetry only, counted apart (the detector did not run on it)
            result = DetectionResult(detections=[], inference_ms=0.0)
            self.counters.frames_without_model += 1
            self._frames_without_model.inc()
        if self.telemetry.cfg.enabled:  # the statistics are for telemetry only
            self.telemetry.add(
                telemetry_row(
                    frame,
                    compute_frame_stats(frame.thumbnail()),
                    result,
                    active.model_version,
                    runtime=active.runtime,
                    precision=active.precision,
                )
            )
        if active.detector is None:
            return  # nothing to label against without a model's boxes
        keep = self.sampler.consider(frame, result, item.decision)
        if keep is not None:
            self._keep(frame, result, keep, active.model_version)
        if self.shadow is not None:  # never waits: a busy shadow model drops the frame
            self.shadow.offer(frame, result, active.model_version, kept=keep is not None)

    def _keep(
        self, frame: Frame, result: DetectionResult, keep: SamplingDecision, model_version: str
    ) -> None:
        parts = package_sample(
            self.camera_id, frame, result, keep, model_version, jpeg_quality=self.jpeg_quality
        )
        if self.outbox.enqueue("sample", parts, keep.priority):
            self.counters.samples_kept += 1
            self.metrics.samples_kept.labels(self.camera_id, keep.reason.rule).inc()
        else:
            self.counters.samples_dropped += 1

    # ------------------------------------------------------------ health
    @property
    def analysing_s(self) -> float:
        """Seconds from the first analysed frame to the latest one (0 before two frames)."""
        if self.first_analysed_at is None or self.last_analysed_at is None:
            return 0.0
        return self.last_analysed_at - self.first_analysed_at

    def sync_source_stats(self) -> None:
        """Move the source's reconnect/corrupt counters into /metrics and log a new source error once.

        Called by the agent every tick, because a stream that keeps reconnecting yields no
        frames and so never reaches the worker's own loop.
        """
        with self._stats_lock:
            stats = self._source_stats
            if stats is None:
                return
            reconnects, corrupt = stats.reconnects, stats.corrupt_frames
            if reconnects > self._seen_reconnects:
                self.metrics.source_reconnects.labels(self.camera_id).inc(reconnects - self._seen_reconnects)
                self._seen_reconnects = reconnects
            if corrupt > self._seen_corrupt:
                self.metrics.corrupt_frames.labels(self.camera_id).inc(corrupt - self._seen_corrupt)
                self._seen_corrupt = corrupt
            error = stats.last_error
            # Live sources only (file sources end or fail, and say so once): one line per outage.
            new_error = not self.is_file_source and error is not None and not self._outage_reported
            if new_error:
                self._outage_reported = True
                self.last_error = error
        if new_error:
            log_event(
                logger,
                logging.ERROR,
                "camera_source_error",
                f"camera {self.camera_id}: {error} (reconnecting with backoff; reconnects are "
                "counted in maskops_edge_source_reconnects_total)",
                camera_id=self.camera_id,
                error=error,
            )

    def health(self, now: float | None = None) -> dict[str, object]:
        """This camera's part of /healthz; ``status`` is one of CameraState or 'stalled'."""
        now = time.monotonic() if now is None else now
        status: str = self.state
        age = None if self.last_frame_at is None else round(now - self.last_frame_at, 1)
        if (
            status == "running"
            and age is not None
            and age > self.watchdog.stall_after_s
            and not self.is_file_source
        ):
            status = "stalled"
        if status == "starting" and self._source_stats is not None and self._source_stats.reconnects > 0:
            status = "reconnecting"
        active = self.holder.current()
        return {
            "status": status,
            "model_version": active.model_version,
            "runtime": active.runtime,
            "precision": active.precision,
            "frames_read": self.counters.frames_read,
            "frames_analysed": self.counters.frames_analysed,
            "frames_without_model": self.counters.frames_without_model,
            "release_id": active.release_id,
            "samples_kept": self.counters.samples_kept,
            "last_frame_age_s": age,
            "last_error": self.last_error,
            "shadow": self.shadow.health() if self.shadow is not None else None,
        }
