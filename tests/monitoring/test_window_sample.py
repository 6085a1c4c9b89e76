"""``sample_window``: a bounded, camera-stratified sample that reads at most ``max_files`` files."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edge_agent.telemetry import telemetry_schema
from maskops_assets.monitoring.window_sample import sample_window
from maskops_assets.store import LocalObjectStore
from maskops_contracts import TELEMETRY_COLUMNS, telemetry_key

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ROWS_PER_FILE = 10


class _GetLog:
    """A store wrapper that records every key read."""

    def __init__(self, inner) -> None:
        self.inner, self.read = inner, []

    def get_bytes(self, key: str) -> bytes:
        self.read.append(key)
        return self.inner.get_bytes(key)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def _put_file(store, camera: str, start: datetime, index: int) -> str:
    n = ROWS_PER_FILE
    columns = {col: [0.5] * n for col in TELEMETRY_COLUMNS}
    columns.update(
        schema_version=[1] * n,
        camera_id=[camera] * n,
        ts=[start + timedelta(seconds=i) for i in range(n)],
        model_version=["m1"] * n,
        runtime=["onnxruntime"] * n,
        precision=["fp32"] * n,
    )
    schema = telemetry_schema()
    for name in schema.names:
        if pa.types.is_integer(schema.field(name).type):
            columns[name] = [int(v) for v in columns[name]]
    sink = io.BytesIO()
    pq.write_table(pa.table(columns, schema=schema), sink)
    key = telemetry_key(camera, start, f"b{index:04d}")
    store.put_bytes(key, sink.getvalue())
    return key


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "store")
    files = {"cam-busy-a": 40, "cam-busy-b": 40, "cam-quiet": 2}
    for camera, count in files.items():
        for i in range(count):
            _put_file(store, camera, NOW - timedelta(minutes=5 * (i + 1)), i)
    _put_file(store, "cam-busy-a", NOW - timedelta(days=3), 999)  # outside the window's day folders
    return store


def test_files_read_are_bounded_and_shared_between_cameras(store: LocalObjectStore) -> None:
    logged = _GetLog(store)
    sample = sample_window(logged, NOW - timedelta(hours=24), NOW, max_rows=1000, max_files=12)
    per_camera = {}
    for key in logged.read:
        per_camera[key.split("/")[1]] = per_camera.get(key.split("/")[1], 0) + 1
    # the quiet camera keeps both its files; its unused share goes to the busy ones
    assert per_camera == {"cam-busy-a": 5, "cam-busy-b": 5, "cam-quiet": 2}
    assert sample.files_listed == 82 and sample.files_read == 12
    assert len(sample.rows) == 12 * ROWS_PER_FILE
    assert sample.estimated_window_rows == 82 * ROWS_PER_FILE
    assert all("/2026-11-27/" not in key for key in logged.read)


def test_the_sample_is_stratified_bounded_and_seeded(store: LocalObjectStore) -> None:
    since = NOW - timedelta(hours=24)
    first = sample_window(store, since, NOW, max_rows=30, max_files=20)
    again = sample_window(store, since, NOW, max_rows=30, max_files=20)
    assert len(first.rows) == 30
    assert first.rows["camera_id"].value_counts().to_dict() == {
        "cam-busy-a": 10,
        "cam-busy-b": 10,
        "cam-quiet": 10,
    }
    assert first.rows.equals(again.rows)


def test_rows_outside_the_window_and_unreadable_files_are_left_out(store: LocalObjectStore) -> None:
    broken = telemetry_key("cam-quiet", NOW - timedelta(minutes=1), "broken")
    store.put_bytes(broken, b"not parquet")
    sample = sample_window(store, NOW - timedelta(minutes=12), NOW, max_rows=1000, max_files=100)
    assert [line.split(":")[0] for line in sample.unreadable] == [broken]
    # the files starting 5 and 10 minutes ago of each camera (10 s of rows each): 60 rows
    assert len(sample.rows) == 6 * ROWS_PER_FILE
    assert (sample.rows["ts"] >= NOW - timedelta(minutes=12)).all()
    with pytest.raises(ValueError, match="max_files"):
        sample_window(store, NOW - timedelta(hours=1), NOW, max_rows=10, max_files=0)
