"""Debounce: no retraining is requested while one is queued or running, nor during the cool-down.

Read from the Dagster instance's run storage on every tick (nothing kept in memory), so it holds
across daemon restarts and covers runs launched by hand from the UI as well as by any trigger.
"""

from __future__ import annotations

import time

import dagster as dg

from maskops_assets.constants import RETRAIN_JOB

#: A run in one of these has been requested and has not finished.
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def retrain_blocked(
    instance: dg.DagsterInstance, cooldown_s: float, now: float | None = None, job_name: str = RETRAIN_JOB
) -> str | None:
    """Why a new retraining run must not be requested now, or None when it may."""
    active = instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=UNFINISHED), limit=1)
    if active:
        run = active[0].dagster_run
        return f"retraining run {run.run_id} is {run.status.value.lower()}; not requesting another"
    if cooldown_s <= 0:
        return None
    finished = instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=FINISHED), limit=1)
    if not finished:
        return None
    record = finished[0]
    ended = record.end_time or record.update_timestamp.timestamp()
    left = ended + cooldown_s - (time.time() if now is None else now)
    if left > 0:
        return (
            f"cool-down: retraining run {record.dagster_run.run_id} ended "
            f"{cooldown_s - left:.0f}s ago; next request allowed in {left:.0f}s (cooldown_s={cooldown_s:g})"
        )
    return None
