"""The canary watch's decision on one tick, and the cursor that keeps it to one request per release.

The cursor remembers the release watched, the last status recorded and the action already requested.
A tick records a verdict only when the (release, status) pair changed, so "keep watching: too few
frames" is visible once, not once a minute, and it requests at most one rollback or promotion per
release: the run it started changes the live manifest, and the next release starts afresh.

A verdict that is recorded also carries the shadow evidence of the canary's model (read only then,
after the verdict is decided, so it cannot change it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

import pandas as pd

from maskops_assets.canary.shadow_evidence import ShadowEvidence, evidence_window
from maskops_assets.canary.statistics import CanaryVerdict, ErrorCounts, judge, split_groups
from maskops_assets.canary.thresholds import CanaryThresholds
from maskops_contracts import ReleaseManifest


@dataclass(frozen=True)
class WatchCursor:
    release_id: str | None = None
    status: str | None = None
    requested: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> WatchCursor:
        """An empty or unreadable cursor reads as "nothing watched yet" (the sensor starts afresh)."""
        try:
            data = json.loads(text) if text else {}
            return cls(**{k: data.get(k) for k in ("release_id", "status", "requested")})
        except (ValueError, TypeError, AttributeError):
            return cls()


@dataclass(frozen=True)
class WatchStep:
    """What one tick does: record ``verdict`` (when ``record``), request ``action``, store ``cursor``."""

    cursor: WatchCursor
    skip_reason: str | None = None
    verdict: CanaryVerdict | None = None
    record: bool = False
    action: str | None = None
    #: (canary rows, control rows) of the window judged, for the picture; None when nothing was read
    groups: tuple[pd.DataFrame, pd.DataFrame] | None = None


def before_judging(manifest: ReleaseManifest | None, cursor: WatchCursor) -> WatchStep | None:
    """A step that needs no telemetry (no canary, or its decision already requested), else None."""
    if manifest is None:
        return WatchStep(cursor, skip_reason="no release yet: nothing to watch")
    if manifest.canary is None:
        return WatchStep(
            cursor,
            skip_reason=f"release {manifest.release_id} has no canary (champion "
            f"{manifest.champion.model_version} on every camera): nothing to watch",
        )
    if cursor.release_id == manifest.release_id and cursor.requested:
        return WatchStep(
            cursor,
            skip_reason=f"{cursor.requested} of canary release {manifest.release_id} already requested; "
            "waiting for that run to change the live manifest",
        )
    return None


def window_bounds(
    manifest: ReleaseManifest, thresholds: CanaryThresholds, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """``[since, until)``: the last ``window_minutes``, never before the canary was released."""
    until = (now or datetime.now(UTC)).astimezone(UTC)
    return max(manifest.created_at, until - thresholds.window), until


def after_judging(
    verdict: CanaryVerdict,
    cursor: WatchCursor,
    groups: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> WatchStep:
    """Record a new (release, status), and request the verdict's action once per release."""
    changed = (cursor.release_id, cursor.status) != (verdict.release_id, verdict.status)
    action = verdict.action
    new = WatchCursor(verdict.release_id, verdict.status, action)
    return WatchStep(
        new,
        skip_reason=None if action else verdict.summary,
        verdict=verdict,
        record=changed or action is not None,
        action=action,
        groups=groups,
    )


def watch_once(
    manifest: ReleaseManifest | None,
    cursor: WatchCursor,
    read_rows: Callable[[datetime, datetime], pd.DataFrame],
    thresholds: CanaryThresholds,
    *,
    now: datetime | None = None,
    read_errors: Callable[[ReleaseManifest], ErrorCounts] | None = None,
    read_shadow: Callable[[str, datetime, datetime], ShadowEvidence] | None = None,
) -> WatchStep:
    """One tick with the telemetry read by ``read_rows(since, until)``, the error counts by
    ``read_errors(manifest)`` (None: not recorded) and, for a verdict that is recorded, the shadow
    evidence by ``read_shadow(canary model_version, since, until)`` (None, or ``shadow_hours`` 0:
    not looked up)."""
    early = before_judging(manifest, cursor)
    if early is not None:
        return early
    since, until = window_bounds(manifest, thresholds, now)
    rows = read_rows(since, until)
    errors = read_errors(manifest) if read_errors is not None else None
    verdict = judge(manifest, rows, since=since, until=until, thresholds=thresholds, errors=errors)
    step = after_judging(verdict, cursor, split_groups(rows, manifest))
    if step.record and read_shadow is not None and thresholds.shadow_hours > 0:
        evidence = read_shadow(
            verdict.canary_model, *evidence_window(manifest, thresholds.shadow_lookback, until)
        )
        step = replace(step, verdict=replace(verdict, shadow=evidence))
    return step
