"""A bounded, camera-stratified sample of a telemetry window, read without reading the window.

``read_window`` reads every file of the window: fine for an hour of a few cameras, not for ten
million rows. This reads at most ``max_files`` parquet files in all, whatever the window holds:

1. list the window's keys by camera and day folder (``telemetry_keys``: partition pruning by the
   key layout ``telemetry/<camera>/<day>/``, never a scan of ``telemetry/``);
2. give each camera an equal share of ``max_files`` (a camera with fewer files keeps them all and
   its unused share goes to the others) and pick that many of its files at random (seeded), so the
   sample spreads over the whole window, not the first batches;
3. read the picked files (``workers`` at a time: on S3 each is a round trip), keep the rows inside
   the window, and sample them to ``max_rows`` stratified by camera (``sample_per_camera``).

Rows within one file (one upload batch) are close in time, so this is a cluster sample: with the
defaults (10,000 rows, 512 files) each of 8 cameras contributes about 64 batches spread over the
window. ``files_listed`` and ``estimated_window_rows`` estimate the window's size for log lines.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from maskops_assets.monitoring.sampling import camera_quotas, sample_per_camera
from maskops_assets.monitoring.telemetry_window import TELEMETRY_PREFIX, telemetry_keys
from maskops_contracts.telemetry import TELEMETRY_COLUMNS
from maskops_store import ObjectStore


@dataclass
class WindowSample:
    """At most ``max_rows`` rows of ``[since, until)`` (``TELEMETRY_COLUMNS``) and how they were drawn."""

    rows: pd.DataFrame
    since: datetime
    until: datetime
    files_listed: int = 0
    files_read: int = 0
    rows_read: int = 0  # inside the window, in the files read
    unreadable: list[str] = field(default_factory=list)

    @property
    def estimated_window_rows(self) -> int:
        """The window's rows, extrapolated from the files read (exact when every file was read)."""
        if not self.files_read:
            return 0
        return round(self.rows_read * self.files_listed / self.files_read)


def sample_window(
    store: ObjectStore,
    since: datetime,
    until: datetime,
    max_rows: int,
    *,
    max_files: int = 512,
    cameras: Iterable[str] | None = None,
    seed: int = 0,
    workers: int = 16,
) -> WindowSample:
    """A seeded sample of at most ``max_rows`` window rows from at most ``max_files`` files."""
    if max_files < 1:
        raise ValueError(f"max_files must be at least 1, got {max_files}")
    keys = telemetry_keys(store, since, until, cameras)
    by_camera: dict[str, list[str]] = {}
    for key in keys:
        by_camera.setdefault(key[len(TELEMETRY_PREFIX) :].split("/", 1)[0], []).append(key)
    quotas = camera_quotas({camera: len(files) for camera, files in by_camera.items()}, max_files)
    rng = random.Random(seed)
    # in listing order, so a window small enough to read whole is read as read_window reads it
    picked = [
        k for camera in sorted(by_camera) for k in sorted(rng.sample(by_camera[camera], quotas[camera]))
    ]

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        read = list(pool.map(lambda key: _read_file(store, key), picked))
    tables = [table for table in read if isinstance(table, pa.Table)]
    unreadable = [problem for problem in read if isinstance(problem, str)]
    if tables:
        frame = pa.concat_tables(tables, promote_options="default").to_pandas()
    else:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in TELEMETRY_COLUMNS})
    for column in TELEMETRY_COLUMNS:  # rows written before an optional column existed
        if column not in frame.columns:
            frame[column] = None
    if len(frame):
        ts = pd.to_datetime(frame["ts"], utc=True)
        frame = frame[(ts >= pd.Timestamp(since)) & (ts < pd.Timestamp(until))]
    return WindowSample(
        rows=sample_per_camera(frame[list(TELEMETRY_COLUMNS)], max_rows, seed=seed),
        since=since,
        until=until,
        files_listed=len(keys),
        files_read=len(tables),
        rows_read=len(frame),
        unreadable=unreadable,
    )


def _read_file(store: ObjectStore, key: str) -> pa.Table | str:
    """The file's telemetry columns, or a line naming it when it cannot be read (never fatal)."""
    try:
        table = pq.read_table(io.BytesIO(store.get_bytes(key)))
    except Exception as err:  # a truncated or foreign file: name it, keep going
        return f"{key}: {err}"
    return table.select([c for c in TELEMETRY_COLUMNS if c in table.column_names])
