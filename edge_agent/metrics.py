"""Prometheus metrics and the small HTTP server behind ``/metrics`` and ``/healthz``.

``AgentMetrics`` owns one registry (not the process-global one, so tests and several
agents in one process do not collide). Outbox figures are read at scrape time from
``Outbox.stats()`` by a collector, so the outbox does not depend on this module.
The server binds to 127.0.0.1 by default: a camera box should not expose its
internals unless the operator says so.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from edge_agent.logs import log_event
from edge_agent.outbox import OutboxStats

logger = logging.getLogger("edge_agent.metrics")

#: (healthy, JSON body) for /healthz
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]

#: Detector time per frame, in seconds (Prometheus' base unit): 1 ms to 2.5 s.
_INFERENCE_BUCKETS_S = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5
)


class HttpConfig(BaseModel):
    """Where ``/metrics`` and ``/healthz`` listen. Port 0 picks a free port (tests)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535)


class _OutboxCollector:
    def __init__(self, stats: Callable[[], OutboxStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Any]:
        s = self._stats()
        depth = GaugeMetricFamily("maskops_edge_outbox_depth", "Items waiting in the outbox", labels=["kind"])
        for kind, value in s.depth.items():
            depth.add_metric([kind], value)
        yield depth
        yield GaugeMetricFamily(
            "maskops_edge_outbox_bytes", "Bytes of payload queued in the outbox", value=s.bytes
        )
        for name, doc, values in (
            ("maskops_edge_outbox_enqueued", "Items accepted into the outbox", s.enqueued),
            ("maskops_edge_outbox_uploaded", "Items fully uploaded to the store", s.uploaded),
            ("maskops_edge_outbox_dropped", "Items dropped (evicted for the disk budget or lost)", s.dropped),
        ):
            family = CounterMetricFamily(name, doc, labels=["kind"])
            for kind, value in values.items():
                family.add_metric([kind], value)
            yield family
        yield CounterMetricFamily(
            "maskops_edge_upload_errors",
            "Failed upload attempts (each will be retried)",
            value=s.upload_errors,
        )


class AgentMetrics:
    """Every metric the agent exports, on its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames_read = Counter(
            "maskops_edge_frames_read", "Frames read from sources", ["camera"], registry=r
        )
        self.frames_analysed = Counter(
            "maskops_edge_frames_analysed", "Frames the detector ran on", ["camera"], registry=r
        )
        self.frames_without_model = Counter(
            "maskops_edge_frames_without_model",
            "Frames read while the camera had no model (telemetry only; the detector did not run)",
            ["camera"],
            registry=r,
        )
        self.frames_skipped = Counter(
            "maskops_edge_frames_skipped",
            "Frames the gate skipped, by reason",
            ["camera", "reason"],
            registry=r,
        )
        self.frame_errors = Counter(
            "maskops_edge_frame_errors",
            "Frames that failed in processing (logged once per kind)",
            ["camera"],
            registry=r,
        )
        self.inference_seconds = Histogram(
            "maskops_edge_inference_seconds",
            "Detector time per frame in seconds (letterbox, forward pass and decoding)",
            ["camera"],
            buckets=_INFERENCE_BUCKETS_S,
            registry=r,
        )
        self.samples_kept = Counter(
            "maskops_edge_samples_kept",
            "Frames kept for labeling, by sampling rule",
            ["camera", "rule"],
            registry=r,
        )
        self.shadow_frames = Counter(
            "maskops_edge_shadow_frames",
            "Frames offered to the shadow model, by outcome: compared, dropped (its worker was busy), "
            "failed",
            ["camera", "outcome"],
            registry=r,
        )
        self.source_reconnects = Counter(
            "maskops_edge_source_reconnects", "Source reconnect attempts", ["camera"], registry=r
        )
        self.corrupt_frames = Counter(
            "maskops_edge_corrupt_frames",
            "Frames that failed to decode and were skipped",
            ["camera"],
            registry=r,
        )
        self.camera_restarts = Counter(
            "maskops_edge_camera_restarts",
            "Times a camera's source was restarted after it died",
            ["camera"],
            registry=r,
        )
        self.camera_up = Gauge(
            "maskops_edge_camera_up", "1 while the camera delivers frames", ["camera"], registry=r
        )
        self.model_info = Gauge(
            "maskops_edge_model_info",
            "The model version a camera runs, on which runtime at which precision (value 1)",
            ["camera", "model_version", "runtime", "precision"],
            registry=r,
        )
        self.model_refusals = Counter(
            "maskops_edge_model_refusals", "Models refused by model sync, by reason", ["reason"], registry=r
        )
        self.model_swaps = Counter("maskops_edge_model_swaps", "Hot model swaps", ["camera"], registry=r)
        self._model_labels: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.Lock()

    def watch_outbox(self, stats: Callable[[], OutboxStats]) -> None:
        self.registry.register(_OutboxCollector(stats))

    def set_model(
        self, camera_id: str, model_version: str, runtime: str | None = None, precision: str | None = None
    ) -> None:
        """Point the model-info gauge of ``camera_id`` at what it runs now (and drop the old labels).

        runtime and precision read "none" where the camera has no detector."""
        labels = (model_version, runtime or "none", precision or "none")
        with self._lock:
            old = self._model_labels.get(camera_id)
            if old == labels:
                return
            if old is not None:
                self.model_info.remove(camera_id, *old)
            self.model_info.labels(camera_id, *labels).set(1)
            self._model_labels[camera_id] = labels

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """Serves ``/metrics`` (Prometheus text) and ``/healthz`` (JSON, 200 or 503) in a thread."""

    def __init__(self, cfg: HttpConfig, metrics: AgentMetrics, health: HealthCheck) -> None:
        self.cfg = cfg
        metrics_ref, health_ref = metrics, health

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, metrics_ref.render(), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    healthy, body = health_ref()
                    self._send(200 if healthy else 503, json.dumps(body).encode(), "application/json")
                else:
                    self._send(404, b'{"error": "not found; try /metrics or /healthz"}', "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                # scrapes every few seconds would drown the agent's own log
                return

        self._server = ThreadingHTTPServer((cfg.host, cfg.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log_event(
            logger,
            logging.INFO,
            "http_listening",
            f"/metrics and /healthz on http://{self.cfg.host}:{self.port}",
            host=self.cfg.host,
            port=self.port,
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
