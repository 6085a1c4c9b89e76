"""The ingest sensor's cursor: complete records batched per ``<camera>/<day>`` folder, and where
the straggler sweep is.

Version 2 (``{"version": 2, "folders": {...}, "sweep_after": ...}``) keeps only each camera's
recent folders (and any with records still waiting), so it stays small however long the store
grows. Version 1 was the bare ``{"<camera>/<day>": count}`` mapping; it is read as version 2 with
no sweep done yet (``IngestCursor.parse`` says when it migrated one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

VERSION = 2


def folder_camera_day(folder: str) -> tuple[str, str]:
    """``("<camera>", "<YYYY-MM-DD>")`` of a ``<camera>/<day>`` folder name."""
    camera, _, day = folder.partition("/")
    return camera, day


def is_day(name: str) -> bool:
    """True for a day folder's name, an ISO date (``2026-11-30``) that exists; ``2026-13-45`` is not."""
    try:
        return date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


def days_before(day: str, days: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


@dataclass
class IngestCursor:
    """``folders``: ``<camera>/<day>`` -> complete records already batched there (as last counted).
    ``sweep_after``: the last camera the straggler sweep listed in full (None: start at the first)."""

    folders: dict[str, int] = field(default_factory=dict)
    sweep_after: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], *, source: str = "cursor") -> IngestCursor:
        if "version" not in data:  # version 1: the folder counts alone
            return cls(folders=_counts(data, source))
        if data["version"] != VERSION:
            raise ValueError(f"ingest {source}: version {data['version']!r} is not {VERSION}")
        folders = data.get("folders", {})
        sweep_after = data.get("sweep_after")
        if not isinstance(folders, Mapping) or not (sweep_after is None or isinstance(sweep_after, str)):
            raise ValueError(f"ingest {source}: 'folders' must be an object and 'sweep_after' a string")
        return cls(folders=_counts(folders, source), sweep_after=sweep_after)

    @classmethod
    def parse(cls, text: str | None) -> tuple[IngestCursor, bool]:
        """The cursor a sensor stored (None or "" for none) and whether it was version 1."""
        if not text:
            return cls(), False
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ValueError(f"ingest sensor cursor is not JSON ({err}): {text[:80]!r}") from None
        if not isinstance(data, dict):
            raise ValueError(f"ingest sensor cursor must be a JSON object, got {text[:80]!r}")
        return cls.from_mapping(data, source="sensor cursor"), "version" not in data and bool(data)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": VERSION,
                "folders": dict(sorted(self.folders.items())),
                "sweep_after": self.sweep_after,
            }
        )

    def camera_days(self) -> dict[str, tuple[str, str]]:
        """camera -> (first day, last day) among its folders in the cursor."""
        spans: dict[str, tuple[str, str]] = {}
        for folder in self.folders:
            camera, day = folder_camera_day(folder)
            first, last = spans.get(camera, (day, day))
            spans[camera] = (min(first, day), max(last, day))
        return spans

    def next_sweep(self, cameras: Iterable[str], count: int) -> list[str]:
        """The ``count`` cameras after ``sweep_after`` in sorted order, wrapping round."""
        ordered = sorted(cameras)
        if count < 1 or not ordered:
            return []
        after = [c for c in ordered if self.sweep_after is None or c > self.sweep_after]
        picked = (after + ordered)[: min(count, len(ordered))]
        return list(dict.fromkeys(picked))


def _counts(data: Mapping[str, object], source: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for folder, count in data.items():
        camera, day = folder_camera_day(str(folder))
        try:
            date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"ingest {source}: {folder!r} is not a <camera>/<YYYY-MM-DD> folder") from None
        if not camera or not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"ingest {source}: folder {folder!r} needs a count >= 0, got {count!r}")
        counts[str(folder)] = count
    return counts
