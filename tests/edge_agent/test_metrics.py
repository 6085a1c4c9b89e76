"""/metrics and /healthz over real HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from edge_agent.metrics import AgentMetrics, HttpConfig, MetricsServer
from edge_agent.outbox import Outbox, OutboxConfig, OutboxPart
from edge_agent.transport import LocalDirTransport


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_metrics_and_healthz_endpoints(tmp_path: Path) -> None:
    metrics = AgentMetrics()
    outbox = Outbox(tmp_path / "spool", OutboxConfig(), LocalDirTransport(tmp_path / "store"))
    outbox.enqueue("sample", [OutboxPart("samples/c/2026-11-23/a.jpg", b"x" * 10, "image/jpeg")], 0.5)
    metrics.watch_outbox(outbox.stats)
    metrics.frames_skipped.labels("cam-a", "fps_cap").inc(3)
    metrics.inference_seconds.labels("cam-a").observe(0.012)
    metrics.model_refusals.labels("sha256_mismatch").inc()
    metrics.set_model("cam-a", "v1", "openvino", "fp32")
    metrics.set_model("cam-a", "v1", "openvino", "bf16")  # same model, now at bf16: one series
    metrics.set_model("cam-a", "v2", "openvino", "bf16")
    metrics.set_model("cam-b", "none")
    state = {"healthy": True}
    server = MetricsServer(
        HttpConfig(port=0),
        metrics,
        lambda: (state["healthy"], {"status": "ok" if state["healthy"] else "degraded"}),
    )
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, body = fetch(base + "/metrics")
        text = body.decode()
        assert status == 200
        for line in (
            'maskops_edge_frames_skipped_total{camera="cam-a",reason="fps_cap"} 3.0',
            'maskops_edge_model_refusals_total{reason="sha256_mismatch"} 1.0',
            'maskops_edge_model_info{camera="cam-a",model_version="v2",precision="bf16",'
            'runtime="openvino"} 1.0',
            'maskops_edge_model_info{camera="cam-b",model_version="none",precision="none",'
            'runtime="none"} 1.0',
            'maskops_edge_outbox_depth{kind="sample"} 1.0',
            "maskops_edge_outbox_bytes 10.0",
            'maskops_edge_inference_seconds_count{camera="cam-a"} 1.0',
            # Prometheus' base unit: seconds, with buckets in seconds (12 ms is within 20 ms)
            'maskops_edge_inference_seconds_bucket{camera="cam-a",le="0.01"} 0.0',
            'maskops_edge_inference_seconds_bucket{camera="cam-a",le="0.02"} 1.0',
            'maskops_edge_inference_seconds_sum{camera="cam-a"} 0.012',
        ):
            assert line in text, line
        assert "maskops_edge_inference_ms" not in text
        assert 'model_version="v1"' not in text and 'precision="fp32"' not in text
        assert fetch(base + "/healthz") == (200, b'{"status": "ok"}')
        state["healthy"] = False
        status, body = fetch(base + "/healthz")
        assert status == 503 and json.loads(body)["status"] == "degraded"
        assert fetch(base + "/nope")[0] == 404
    finally:
        server.stop()
        outbox.close()


def test_binds_loopback_by_default() -> None:
    assert HttpConfig().host == "127.0.0.1"
    with pytest.raises(ValueError):
        HttpConfig(port=70000)
