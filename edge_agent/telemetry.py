"""Telemetry batching: per-frame ``TelemetryRow``s, written as parquet into the outbox.

One batch per camera is flushed when it holds ``batch_rows`` rows or its oldest row is
``batch_seconds`` old, to ``telemetry/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet``
with exactly the columns of ``maskops_contracts.TELEMETRY_COLUMNS``. The batch id is
fixed when the batch is sealed, so a retried upload rewrites the same key.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from edge_agent.logs import log_event
from edge_agent.outbox import TELEMETRY_PRIORITY, Outbox, OutboxPart
from maskops_contracts import CLASS_NAMES, TELEMETRY_COLUMNS, TelemetryRow, telemetry_key
from maskops_contracts.keys import shadow_key
from maskops_contracts.telemetry import (
    CLASS_MISMATCH_COLUMNS,
    SHADOW_COLUMNS,
    SHADOW_COUNT_COLUMNS,
    ShadowRow,
)

logger = logging.getLogger("edge_agent.telemetry")

_COUNT_COLUMNS = {f"count_{name}": name for name in CLASS_NAMES}  # column -> class
_INT_COLUMNS = {"schema_version", "num_detections", *_COUNT_COLUMNS}
_STR_COLUMNS = {"camera_id", "model_version", "runtime", "precision", "shadow_model_version"}
_MISMATCH_COLUMNS = {f"class_mismatch_{name}": name for name in CLASS_NAMES}  # column -> class
_SHADOW_INT_COLUMNS = {"schema_version", "dropped_before", *SHADOW_COUNT_COLUMNS, *CLASS_MISMATCH_COLUMNS}


class TelemetryConfig(BaseModel):
    """When a camera's telemetry batch is sealed and queued."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    batch_rows: int = Field(default=500, ge=1)
    batch_seconds: float = Field(default=60.0, gt=0)


def _schema(columns: Sequence[str], int_columns: set[str]) -> pa.Schema:
    fields = []
    for name in columns:
        if name == "ts":
            fields.append(pa.field(name, pa.timestamp("us", tz="UTC")))
        elif name in _STR_COLUMNS:
            fields.append(pa.field(name, pa.string()))
        elif name in int_columns:
            fields.append(pa.field(name, pa.int64()))
        else:
            fields.append(pa.field(name, pa.float64()))
    return pa.schema(fields)


def telemetry_schema() -> pa.Schema:
    """The parquet schema: ``ts`` is a UTC timestamp, counts are int64, features float64."""
    return _schema(TELEMETRY_COLUMNS, _INT_COLUMNS)


def shadow_schema() -> pa.Schema:
    """The parquet schema of shadow comparisons: counts int64, the confidence delta float64."""
    return _schema(SHADOW_COLUMNS, _SHADOW_INT_COLUMNS)


def _parquet(
    rows: Sequence[Any], columns: Sequence[str], per_class: dict[str, str], by_class: str, schema: pa.Schema
) -> bytes:
    """Encode rows as one parquet file (zstd) with ``columns``, in order: each column straight from
    the rows' attribute of that name, except the ``per_class`` columns (column -> class), which
    come from the rows' per-class dict ``by_class``. (``to_dict`` would deep-copy each row and
    format a timestamp string that parquet does not want: 36 µs a row, in a camera thread.)"""
    table = {
        name: [getattr(row, by_class)[per_class[name]] for row in rows]
        if name in per_class
        else [getattr(row, name) for row in rows]
        for name in columns
    }
    sink = io.BytesIO()
    pq.write_table(pa.table(table, schema=schema), sink, compression="zstd")
    return sink.getvalue()


def rows_to_parquet(rows: list[TelemetryRow]) -> bytes:
    """Encode rows as one parquet file (zstd) with the contract's columns, in order."""
    return _parquet(rows, TELEMETRY_COLUMNS, _COUNT_COLUMNS, "class_counts", telemetry_schema())


def parquet_to_rows(data: bytes) -> list[TelemetryRow]:
    """Decode a telemetry batch back into rows (used by tests and tools)."""
    table = pq.read_table(io.BytesIO(data))
    return [TelemetryRow.from_dict(rec) for rec in table.to_pylist()]


def shadow_rows_to_parquet(rows: list[ShadowRow]) -> bytes:
    """Encode shadow comparisons as one parquet file with the columns of ``SHADOW_COLUMNS``."""
    return _parquet(rows, SHADOW_COLUMNS, _MISMATCH_COLUMNS, "class_mismatches", shadow_schema())


def parquet_to_shadow_rows(data: bytes) -> list[ShadowRow]:
    """Decode a batch of shadow comparisons back into rows (used by tests and tools)."""
    table = pq.read_table(io.BytesIO(data))
    return [ShadowRow.from_dict(rec) for rec in table.to_pylist()]


class TelemetryBatcher:
    """Collects rows per camera and seals batches into the outbox. Thread-safe.

    ``encode`` and ``key`` say what a batch is: telemetry rows by default; shadow mode batches its
    ``ShadowRow``s with ``shadow_batcher`` (``shadow/<camera>/<day>/<batch>.parquet``).
    """

    def __init__(
        self,
        cfg: TelemetryConfig,
        outbox: Outbox,
        *,
        encode: Callable[[list[Any]], bytes] = rows_to_parquet,
        key: Callable[[str, date | datetime | str, str], str] = telemetry_key,
        what: str = "telemetry",
    ) -> None:
        self.cfg = cfg
        self.outbox = outbox
        self._encode = encode
        self._key = key
        self.what = what
        self._lock = threading.Lock()
        self._rows: dict[str, list[Any]] = {}
        self._opened: dict[str, float] = {}
        self.batches_written = 0
        self.rows_written = 0

    def add(self, row: Any) -> None:
        """Add one row; seals the camera's batch when it is full or old enough."""
        if not self.cfg.enabled:
            return
        with self._lock:
            rows = self._rows.setdefault(row.camera_id, [])
            if not rows:
                self._opened[row.camera_id] = time.monotonic()
            rows.append(row)
            ready = self._take_if_due(row.camera_id)
        if ready:
            self._write(row.camera_id, ready)

    def warm_up(self) -> None:
        """Encode an empty batch once, before the cameras start: pyarrow's first conversion
        loads its lazy parts (pandas too, where installed), a stall of about 0.3 s that would
        otherwise land in a camera thread at the first sealed batch."""
        self._encode([])

    def tick(self) -> None:
        """Seal batches whose oldest row is ``batch_seconds`` old; call it periodically."""
        with self._lock:
            due = {cam: self._take_if_due(cam) for cam in list(self._rows)}
        for cam, rows in due.items():
            if rows:
                self._write(cam, rows)

    def flush(self) -> None:
        """Seal every open batch now (on shutdown)."""
        with self._lock:
            pending = {cam: rows for cam, rows in self._rows.items() if rows}
            self._rows = {}
            self._opened = {}
        for cam, rows in pending.items():
            self._write(cam, rows)

    def _take_if_due(self, camera_id: str) -> list[Any] | None:
        rows = self._rows.get(camera_id) or []
        if not rows:
            return None
        age = time.monotonic() - self._opened.get(camera_id, time.monotonic())
        if len(rows) >= self.cfg.batch_rows or age >= self.cfg.batch_seconds:
            self._rows[camera_id] = []
            return rows
        return None

    def _write(self, camera_id: str, rows: list[Any]) -> None:
        first = rows[0].ts
        batch_id = f"{first.strftime('%Y%m%dT%H%M%S')}Z-{uuid.uuid4().hex[:12]}"
        key = self._key(camera_id, first.astimezone(UTC), batch_id)
        payload = self._encode(rows)
        if self.outbox.enqueue(
            "telemetry", [OutboxPart(key, payload, "application/vnd.apache.parquet")], TELEMETRY_PRIORITY
        ):
            self.batches_written += 1
            self.rows_written += len(rows)
        else:
            log_event(
                logger,
                logging.WARNING,
                "telemetry_dropped",
                f"{self.what} batch of {len(rows)} rows for camera {camera_id} dropped: outbox full",
                camera_id=camera_id,
                rows=len(rows),
            )


def shadow_batcher(cfg: TelemetryConfig, outbox: Outbox) -> TelemetryBatcher:
    """The batcher of shadow comparisons: telemetry's batching, under ``shadow/``."""
    return TelemetryBatcher(cfg, outbox, encode=shadow_rows_to_parquet, key=shadow_key, what="shadow")
