"""The cameras' shadow comparisons of a time window, read from the object store into one table.

They live at ``shadow/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet`` (``maskops_contracts.keys.shadow_key``,
columns ``SHADOW_COLUMNS``). Only the day folders the window touches are listed, camera by camera;
rows are filtered on ``ts`` after reading. A file that cannot be read is named and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from maskops_assets.monitoring.telemetry_window import read_partitioned_rows
from maskops_contracts.keys import SHADOW_PREFIX
from maskops_contracts.telemetry import SHADOW_COLUMNS
from maskops_store import ObjectStore


@dataclass
class ShadowWindow:
    """The comparisons of ``[since, until)`` (columns ``SHADOW_COLUMNS``) and the files skipped."""

    rows: pd.DataFrame
    since: datetime
    until: datetime
    files_read: int = 0
    unreadable: list[str] = field(default_factory=list)


def read_shadow_window(store: ObjectStore, since: datetime, until: datetime) -> ShadowWindow:
    """Shadow comparisons with ``since <= ts < until``, every camera."""
    found = read_partitioned_rows(store, SHADOW_PREFIX, SHADOW_COLUMNS, since, until)
    return ShadowWindow(found.rows, since, until, found.files_read, found.unreadable)
