"""A window of the cameras' telemetry rows, read from the object store into one table.

Telemetry lives at ``telemetry/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet`` (docs/contracts.md).
A window lists only the day folders it covers, camera by camera, so its cost grows with the days
and cameras asked for, not with the whole store. Rows are filtered on ``ts`` after reading; a
file that cannot be read is reported by key and skipped, never fatal (one bad upload must not
blind the drift report or the canary watch).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from maskops_contracts.telemetry import TELEMETRY_COLUMNS
from maskops_store import ObjectStore, list_folder_names

TELEMETRY_PREFIX = "telemetry/"


@dataclass
class TelemetryWindow:
    """The rows of ``[since, until)`` as a DataFrame (``TELEMETRY_COLUMNS``), and what was skipped."""

    rows: pd.DataFrame
    since: datetime
    until: datetime
    files_read: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def cameras(self) -> list[str]:
        return sorted(self.rows["camera_id"].unique()) if len(self.rows) else []


def list_cameras(store: ObjectStore, page_size: int = 1000, prefix: str = TELEMETRY_PREFIX) -> list[str]:
    """Every camera id with a folder under ``prefix`` (a request per 1,000 cameras)."""
    return list_folder_names(store, prefix, page_size)


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def telemetry_keys(
    store: ObjectStore,
    since: datetime,
    until: datetime,
    cameras: Iterable[str] | None = None,
    prefix: str = TELEMETRY_PREFIX,
) -> list[str]:
    """The parquet keys in the ``<prefix><camera>/<day>/`` folders that ``[since, until]`` touches,
    for ``cameras`` (all)."""
    keys: list[str] = []
    for camera in sorted(cameras) if cameras is not None else list_cameras(store, prefix=prefix):
        for day in _days(since, until):
            folder = f"{prefix}{camera}/{day.isoformat()}/"
            after: str | None = None
            while page := store.list_keys(folder, start_after=after, limit=1000):
                keys.extend(k for k in page if k.endswith(".parquet"))
                after = page[-1]
    return keys


@dataclass
class PartitionedRows:
    """The rows of one camera/day-partitioned parquet family in a window, and what was skipped."""

    rows: pd.DataFrame
    files_read: int
    unreadable: list[str]


def read_partitioned_rows(
    store: ObjectStore,
    prefix: str,
    columns: tuple[str, ...],
    since: datetime,
    until: datetime,
    cameras: Iterable[str] | None = None,
) -> PartitionedRows:
    """Rows with ``since <= ts < until`` of the parquet files under ``<prefix><camera>/<day>/``
    (``columns``; a column a file predates is None). A file that cannot be read is named and skipped."""
    tables: list[pa.Table] = []
    unreadable: list[str] = []
    keys = telemetry_keys(store, since, until, cameras, prefix=prefix)
    for key in keys:
        try:
            table = pq.read_table(io.BytesIO(store.get_bytes(key)))
        except Exception as err:  # a truncated or foreign file: name it, keep going
            unreadable.append(f"{key}: {err}")
            continue
        tables.append(table.select([c for c in columns if c in table.column_names]))
    if tables:
        frame = pa.concat_tables(tables, promote_options="default").to_pandas()
    else:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    for column in columns:  # rows written before an optional column existed
        if column not in frame.columns:
            frame[column] = None
    if len(frame):
        ts = pd.to_datetime(frame["ts"], utc=True)
        frame = frame[(ts >= pd.Timestamp(since)) & (ts < pd.Timestamp(until))].reset_index(drop=True)
    return PartitionedRows(frame[list(columns)], len(keys) - len(unreadable), unreadable)


def read_window(
    store: ObjectStore,
    since: datetime,
    until: datetime | None = None,
    cameras: Iterable[str] | None = None,
) -> TelemetryWindow:
    """Telemetry rows with ``since <= ts < until`` (``until`` defaults to now), for ``cameras``."""
    until = until or datetime.now(UTC)
    found = read_partitioned_rows(store, TELEMETRY_PREFIX, TELEMETRY_COLUMNS, since, until, cameras)
    return TelemetryWindow(
        rows=found.rows,
        since=since,
        until=until,
        files_read=found.files_read,
        unreadable=found.unreadable,
    )
