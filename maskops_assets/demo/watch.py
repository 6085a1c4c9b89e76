"""What the demo reads while the platform works: runs and materializations from the Dagster instance,
the agent's /healthz. Nothing here starts or changes anything; every wait has a deadline."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

T = TypeVar("T")
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


class StageTimeout(TimeoutError):
    """A stage did not finish in time; the message says which and what to look at."""


class RunFailed(RuntimeError):
    """A run the story depends on failed; the message names it."""


def wait_for(condition: Callable[[], T | None], what: str, timeout_s: float, tick: Callable[[], None]) -> T:
    """Poll ``condition`` until it returns something truthy; ``tick`` runs between polls (it checks
    the processes and does the annotator's work). Raises ``StageTimeout`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StageTimeout(f"no {what} within {timeout_s:.0f} s")
        tick()
        time.sleep(1.0)


def runs(
    instance: dg.DagsterInstance, *, job_name: str | None = None, tags: dict | None = None, after: float = 0.0
) -> list[dg.DagsterRun]:
    """Runs (oldest first) of ``job_name`` / with ``tags``, created after ``after`` (epoch s)."""
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name, tags=tags or {}), limit=200)
    chosen = [r for r in records if r.create_timestamp.timestamp() >= after]
    return [r.dagster_run for r in sorted(chosen, key=lambda r: r.create_timestamp)]


def finished(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun | None:
    run = instance.get_run_by_id(run_id)
    if run is None or run.status not in DONE:
        return None
    if run.status != dg.DagsterRunStatus.SUCCESS:
        raise RunFailed(f"run {run_id} ({run.job_name}) ended {run.status.value}")
    return run


def first_succeeded(
    instance: dg.DagsterInstance, *, after: float, job_name: str | None = None, tags: dict | None = None
) -> dg.DagsterRun | None:
    for run in runs(instance, job_name=job_name, tags=tags, after=after):
        if run.status == dg.DagsterRunStatus.SUCCESS:
            return run
    return None


def latest_metadata(instance: dg.DagsterInstance, asset: str, run_id: str | None = None) -> dict[str, Any]:
    """The metadata values (plain Python) of ``asset``'s latest materialization (of ``run_id``)."""
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=50).records
    for record in records:
        if run_id is None or record.run_id == run_id:
            materialization = record.asset_materialization
            return {k: getattr(v, "value", v) for k, v in (materialization.metadata or {}).items()}
    return {}


def step_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """(start, end) epoch seconds of each step of ``run_id`` that finished."""
    started: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not record.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[record.step_key] = record.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            spans[record.step_key] = (started.get(record.step_key, record.timestamp), record.timestamp)
    return spans


def run_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Epoch seconds of the run's creation, start and end (what the instance recorded)."""
    record = instance.get_run_records(dg.RunsFilter(run_ids=[run_id]), limit=1)[0]
    return {
        "created": record.create_timestamp.timestamp(),
        "started": record.start_time or record.create_timestamp.timestamp(),
        "ended": record.end_time or 0.0,
    }


def agent_health(url: str) -> dict[str, Any] | None:
    """The agent's /healthz body, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=3) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:  # 503 while degraded still has the body
        try:
            return json.loads(err.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


def serving(health: dict[str, Any] | None) -> dict[str, str]:
    """camera -> model version it runs now, from a /healthz body."""
    if not health:
        return {}
    return {cam: str(state.get("model_version")) for cam, state in health.get("cameras", {}).items()}
