"""The edge agent daemon: wires the parts together, supervises them and shuts down cleanly.

Start-up: open the outbox (resuming whatever a crash left queued), restore each
camera's last good model, start ``/metrics`` and ``/healthz``, one thread per camera,
the upload thread and model sync. Every tick it seals old telemetry batches and moves
source counters into metrics. On stop (SIGTERM/SIGINT, or every file/folder source ended with
``until_sources_end``, which then stops the stream and webcam cameras too) it stops the
cameras, flushes telemetry, drains the outbox for up to ``outbox.drain_timeout_s`` (without
limit in ``until_sources_end`` mode, which promises a drained outbox), writes a final status and
returns a summary. Every ``status_interval_s`` a heartbeat goes to ``agents/<agent_id>/status.json``
(``edge_agent.status``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import cv2

from edge_agent.camera_worker import CameraWorker
from edge_agent.config import AgentConfig, summarize
from edge_agent.logs import log_event
from edge_agent.metrics import AgentMetrics, MetricsServer
from edge_agent.model_sync import ModelHolder, ModelSync
from edge_agent.outbox import Outbox
from edge_agent.sampler import SamplerConfig
from edge_agent.shadow import ShadowSlot, ShadowWorker
from edge_agent.status import ManifestView, StatusPublisher, StatusReporter
from edge_agent.telemetry import TelemetryBatcher, shadow_batcher
from edge_agent.transport import Transport, build_transport

logger = logging.getLogger("edge_agent.agent")

_TICK_S = 0.25
_HEALTHY_STATES = {"starting", "running", "ended"}


class EdgeAgent:
    """One agent process. ``run()`` blocks until ``request_stop()`` (or the sources end)."""

    #: on stop, a camera still finishing after this long is reported (and still waited for)
    slow_stop_warn_s = 10.0

    def __init__(
        self, cfg: AgentConfig, *, until_sources_end: bool = False, transport: Transport | None = None
    ) -> None:
        self.cfg = cfg
        self.until_sources_end = until_sources_end
        self.stop_event = threading.Event()
        #: set by a second signal: stop waiting for the outbox to drain
        self.abort_drain = threading.Event()
        self.transport = transport or build_transport(cfg.store)
        self.metrics = AgentMetrics()
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(cfg.data_dir / "outbox", cfg.outbox, self.transport)
        self.metrics.watch_outbox(self.outbox.stats)
        self.telemetry = TelemetryBatcher(cfg.telemetry, self.outbox)
        cameras = [c for c in cfg.cameras if c.enabled]
        self.holders = {c.camera_id: ModelHolder(c.camera_id) for c in cameras}
        # shadow mode: a slot per camera that model sync fills when a release names a shadow for it
        self.shadow_batcher = shadow_batcher(cfg.telemetry, self.outbox)
        self.shadow_slots = {c.camera_id: ShadowSlot() for c in cameras} if cfg.shadow.enabled else {}
        self.model_sync = ModelSync(
            cfg.model_sync,
            cfg.detector,
            self.transport,
            cfg.data_dir / "models",
            self.holders,
            self.metrics,
            shadow_slots=self.shadow_slots,
            shadow_cfg=cfg.shadow,
        )
        self._camera_stop = threading.Event()
        self.workers = [
            CameraWorker(
                c,
                self.holders[c.camera_id],
                self.outbox,
                self.telemetry,
                self.metrics,
                watchdog=cfg.watchdog,
                jpeg_quality=cfg.outbox.jpeg_quality,
                stop=self._camera_stop,
                first_model_wait_s=cfg.model_sync.first_model_wait_s if cfg.model_sync.enabled else 0.0,
                first_poll_done=self.model_sync.first_poll_done,
                shadow=self._shadow_worker(c.camera_id, c.sampler),
            )
            for c in cameras
        ]
        self.disabled = [c.camera_id for c in cfg.cameras if not c.enabled]
        # the heartbeat: latest-wins through the outbox's store transport, not queued (status.py)
        self.status = StatusReporter(
            cfg.agent_id,
            self.workers,
            disabled=self.disabled,
            model_sync=self.model_sync,
            outbox=self.outbox,
            manifests=ManifestView(self.transport),
            interval_s=cfg.status_interval_s or None,
        )
        self.status_publisher = StatusPublisher(
            self.outbox.transport,
            cfg.agent_id,
            self.status.build,
            interval_s=cfg.status_interval_s,
            retry_initial_s=cfg.outbox.retry_initial_s,
            retry_max_s=cfg.outbox.retry_max_s,
        )
        self._status_stop = threading.Event()
        self._status_thread: threading.Thread | None = None
        self.http: MetricsServer | None = None
        self._sync_thread: threading.Thread | None = None
        self._started_at = time.monotonic()
        self.drained = True

    def _shadow_worker(self, camera_id: str, sampler_cfg: SamplerConfig) -> ShadowWorker | None:
        slot = self.shadow_slots.get(camera_id)
        if slot is None:
            return None
        return ShadowWorker(
            camera_id,
            slot,
            self.cfg.shadow,
            self.shadow_batcher,
            self.outbox,
            self.metrics,
            sampler_cfg=sampler_cfg,
            jpeg_quality=self.cfg.outbox.jpeg_quality,
        )

    # ------------------------------------------------------------ health
    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy when every enabled camera is starting, running or (file sources) ended."""
        cameras = {w.camera_id: w.health() for w in self.workers}
        for camera_id in self.disabled:
            cameras[camera_id] = {"status": "disabled"}
        healthy = all(c["status"] in _HEALTHY_STATES for c in cameras.values() if c["status"] != "disabled")
        stats = self.outbox.stats()
        body = {
            "status": "ok" if healthy else "degraded",
            "agent_id": self.cfg.agent_id,
            # each camera says what it runs (model_version, release_id); the release last read
            # and, per camera, a model of it that camera does not run (refused, or not in the store)
            "cameras": cameras,
            "release": {
                "manifest_release_id": self.model_sync.release_id,
                "refused": dict(self.model_sync.refusals),
            },
            "outbox": {
                "depth": stats.total_depth,
                "bytes": stats.bytes,
                "dropped": sum(stats.dropped.values()),
                "upload_failures_in_a_row": stats.consecutive_failures,
                "last_error": stats.last_error,
            },
            "uptime_s": round(time.monotonic() - self._started_at, 1),
        }
        return healthy, body

    def summary(self) -> dict[str, Any]:
        stats = self.outbox.stats()
        return {
            "event": "summary",
            "cameras": {
                w.camera_id: {
                    "frames_read": w.counters.frames_read,
                    "frames_analysed": w.counters.frames_analysed,
                    "frames_without_model": w.counters.frames_without_model,
                    "samples_kept": w.counters.samples_kept,
                    "analysing_s": round(w.analysing_s, 3),
                    "status": w.state,
                    **({"shadow": shadow} if w.shadow is not None and (shadow := w.shadow.health()) else {}),
                }
                for w in self.workers
            },
            "outbox": {"depth": stats.total_depth, "uploaded": stats.uploaded, "dropped": stats.dropped},
            "drained": self.drained,
            "elapsed_s": round(time.monotonic() - self._started_at, 3),
        }

    # ------------------------------------------------------------ lifecycle
    def request_stop(self) -> None:
        """Ask ``run`` to shut down (signal handlers call this; a second call aborts the drain)."""
        if self.stop_event.is_set():
            self.abort_drain.set()
        self.stop_event.set()

    def run(self) -> dict[str, Any]:
        """Run until stopped; returns the summary."""
        self._started_at = time.monotonic()
        # The detector runtime owns the cores (its thread count is explicit in config); OpenCV's
        # own pool for resize/convert would otherwise contend with it on small boxes, and in
        # profiling on 2 cores that slowed each forward pass far more than the parallel resize saved.
        cv2.setNumThreads(1)
        log_event(
            logger,
            logging.INFO,
            "agent_starting",
            f"agent {self.cfg.agent_id} starting",
            config=summarize(self.cfg),
        )
        self.model_sync.restore(self.cfg.detector.model_path, self.cfg.detector.model_version)
        if self.cfg.http.enabled:
            self.http = MetricsServer(self.cfg.http, self.metrics, self.health)
            self.http.start()
        self.telemetry.warm_up()
        self.outbox.start()
        for worker in self.workers:
            worker.start()
        if self.cfg.model_sync.enabled:
            self._sync_thread = threading.Thread(target=self._sync_loop, name="model-sync", daemon=True)
            self._sync_thread.start()
        self.status.restart()
        if self.cfg.status_interval_s > 0:
            self._status_thread = threading.Thread(target=self._status_loop, name="status", daemon=True)
            self._status_thread.start()
        try:
            self._supervise()
        finally:
            self._shutdown()
        return self.summary()

    def _sync_loop(self) -> None:
        try:
            self.model_sync.run(self.stop_event)
        except Exception:  # model sync must never take the cameras down with it
            logger.exception(
                "model sync stopped after an unexpected error; cameras keep their models",
                extra={"event": "model_sync_crashed"},
            )

    def _status_loop(self) -> None:
        try:
            self.status_publisher.run(self._status_stop)
        except Exception:  # a heartbeat bug must never take the cameras down with it
            logger.exception(
                "the status heartbeat stopped after an unexpected error; cameras keep running",
                extra={"event": "status_crashed"},
            )

    def _final_status(self) -> None:
        """One last heartbeat after the drain: final counters, cameras stopped or ended."""
        self._status_stop.set()
        if self._status_thread is not None:
            self._status_thread.join(timeout=30)
        if self.cfg.status_interval_s <= 0:
            return
        try:
            sent = self.status_publisher.publish_now()
        except Exception:
            logger.exception("cannot build the final status", extra={"event": "status_crashed"})
            return
        if not sent:
            log_event(
                logger,
                logging.WARNING,
                "final_status_not_sent",
                f"the final status did not reach {self.transport.describe()}; the platform sees the "
                "last one sent",
            )

    def _supervise(self) -> None:
        while not self.stop_event.wait(_TICK_S):
            for worker in self.workers:
                worker.sync_source_stats()
            self.telemetry.tick()
            self.shadow_batcher.tick()
            if self.until_sources_end and self._file_sources_ended():
                live = [w.camera_id for w in self.workers if not w.is_file_source]
                log_event(
                    logger,
                    logging.INFO,
                    "sources_ended",
                    "every file/folder source has ended"
                    + (f"; stopping the live cameras {', '.join(live)}" if live else "")
                    + "; draining the outbox",
                    live_cameras=live,
                )
                break

    def _file_sources_ended(self) -> bool:
        """True once every file/folder camera is done (live cameras never end by themselves)."""
        return all(w.done for w in self.workers if w.is_file_source)

    def _shutdown(self) -> None:
        self._camera_stop.set()
        self.stop_event.set()
        self._join_workers()  # each camera's shadow worker has finished its frames too
        self.telemetry.flush()
        self.shadow_batcher.flush()
        timeout = None if self.until_sources_end else self.cfg.outbox.drain_timeout_s
        self.drained = self._drain(timeout)
        stats = self.outbox.stats()
        if not self.drained:
            log_event(
                logger,
                logging.WARNING,
                "outbox_not_drained",
                f"{stats.total_depth} items still queued on disk; they are uploaded at the next start",
                depth=stats.total_depth,
            )
        self._final_status()
        self.outbox.close()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=5)
        if self.http is not None:
            self.http.stop()
        log_event(
            logger,
            logging.INFO,
            "agent_stopped",
            f"agent {self.cfg.agent_id} stopped",
            summary=self.summary(),
        )

    def _join_workers(self) -> None:
        """Wait for every camera to finish the frames it holds: a camera blocked in a stream read
        or open returns within its source's timeouts. Telemetry and the outbox close only after,
        so no frame read is lost. A second signal stops waiting."""
        for worker in self.workers:
            warn_at = time.monotonic() + self.slow_stop_warn_s
            warned = False
            while worker.alive and not self.abort_drain.is_set():
                worker.join(timeout=min(1.0, self.slow_stop_warn_s))
                if worker.alive and not warned and time.monotonic() >= warn_at:
                    warned = True
                    log_event(
                        logger,
                        logging.WARNING,
                        "camera_slow_to_stop",
                        f"camera {worker.camera_id} is still finishing after {self.slow_stop_warn_s:.0f} s "
                        "(a stream read or open waits up to its timeout); send the signal again to stop "
                        "without it",
                        camera_id=worker.camera_id,
                    )
            worker.sync_source_stats()

    def _drain(self, timeout_s: float | None) -> bool:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.abort_drain.is_set():
            step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            if self.outbox.drain(step):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return self.outbox.stats().total_depth == 0
