"""Telemetry batches: parquet with the contract's columns, under the contract's key, via the outbox."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from edge_agent.outbox import Outbox, OutboxConfig
from edge_agent.telemetry import TelemetryBatcher, TelemetryConfig, parquet_to_rows, rows_to_parquet
from edge_agent.transport import LocalDirTransport
from maskops_contracts import TELEMETRY_COLUMNS, TelemetryRow

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def row(camera_id: str, i: int, **ran: str) -> TelemetryRow:
    return TelemetryRow(
        camera_id=camera_id,
        ts=T0 + timedelta(seconds=i),
        model_version="v1",
        brightness=100.0 + i,
        contrast=20.0,
        blur=300.0,
        mean_r=90.0,
        mean_g=100.0,
        mean_b=110.0,
        saturation=40.0,
        num_detections=2,
        mean_confidence=0.6,
        min_confidence=0.5,
        class_counts={"with_mask": 1, "without_mask": 1},
        inference_ms=12.5,
        **ran,
    )


def test_parquet_has_exactly_the_contract_columns_and_round_trips() -> None:
    rows = [row("cam-1", 0), row("cam-1", 1, runtime="openvino", precision="bf16"), row("cam-1", 2)]
    data = rows_to_parquet(rows)
    table = pq.read_table(io.BytesIO(data))
    assert tuple(table.column_names) == TELEMETRY_COLUMNS
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("precision").type) == "string"
    assert table.column("precision").to_pylist() == [None, "bf16", None]
    assert [r.to_dict() for r in parquet_to_rows(data)] == [r.to_dict() for r in rows]


def test_a_batch_written_before_runtime_and_precision_still_reads() -> None:
    new = rows_to_parquet([row("cam-1", 0, runtime="openvino", precision="fp32")])
    table = pq.read_table(io.BytesIO(new))
    old = io.BytesIO()
    pq.write_table(table.drop_columns(["runtime", "precision"]), old)
    [back] = parquet_to_rows(old.getvalue())
    assert (back.runtime, back.precision) == (None, None) and back.to_dict() == row("cam-1", 0).to_dict()


def test_batches_by_rows_per_camera_under_the_contract_key(tmp_path: Path) -> None:
    store = LocalDirTransport(tmp_path / "store")
    outbox = Outbox(tmp_path / "spool", OutboxConfig(), store)
    batcher = TelemetryBatcher(TelemetryConfig(batch_rows=4, batch_seconds=3600), outbox)
    for i in range(10):
        batcher.add(row("cam-a", i))
    batcher.add(row("cam-b", 0))
    assert batcher.batches_written == 2  # cam-a: 4 + 4 sealed, 2 still open
    batcher.flush()
    assert batcher.batches_written == 4
    assert batcher.rows_written == 11
    outbox.start()
    assert outbox.drain(10)
    outbox.close()
    files = sorted((tmp_path / "store").rglob("*.parquet"))
    assert [f.relative_to(tmp_path / "store").parts[:3] for f in files].count(
        ("telemetry", "cam-a", "2026-11-23")
    ) == 3
    rows_back = [r for f in files for r in parquet_to_rows(f.read_bytes())]
    assert sorted((r.camera_id, r.ts) for r in rows_back) == sorted(
        [("cam-a", T0 + timedelta(seconds=i)) for i in range(10)] + [("cam-b", T0)]
    )


def test_tick_seals_batches_that_are_old_enough(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "spool", OutboxConfig(), LocalDirTransport(tmp_path / "store"))
    batcher = TelemetryBatcher(TelemetryConfig(batch_rows=1000, batch_seconds=0.01), outbox)
    batcher.add(row("cam-a", 0))
    time.sleep(0.05)
    batcher.tick()
    assert batcher.batches_written == 1
    assert outbox.stats().depth["telemetry"] == 1
    outbox.close()


def test_disabled_telemetry_writes_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "spool", OutboxConfig(), LocalDirTransport(tmp_path / "store"))
    batcher = TelemetryBatcher(TelemetryConfig(enabled=False, batch_rows=1), outbox)
    batcher.add(row("cam-a", 0))
    batcher.flush()
    assert outbox.stats().total_depth == 0
    outbox.close()
