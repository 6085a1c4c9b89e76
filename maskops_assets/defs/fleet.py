"""``edge_fleet``: every edge agent's heartbeat as one table, its two checks, and its schedule.

Reads ``agents/<agent_id>/status.json`` from the object store (``maskops_assets.fleet``), one row
per agent and camera: last seen, model and release it runs, canary or not, its shadow model and how
far the two agree (shadow mode), analysed fps, frames without a model, outbox depth and dropped
counts, samples kept in the last hour, errors. The checks warn (they never block anything) about
cameras silent longer than ``silent_after_s`` and agents not on the live release.
``edge_fleet_schedule`` refreshes it every 10 minutes.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from maskops_assets.constants import OWNER
from maskops_assets.fleet import FleetReport, build_fleet_report, plot_last_seen, read_agent_statuses
from maskops_assets.release.ledger import ReleaseLedger
from maskops_assets.resources import ObjectStoreResource, WorkDirResource

CAMERAS_REPORTING = "edge_fleet_cameras_reporting"
ON_CURRENT_RELEASE = "edge_fleet_on_current_release"


class EdgeFleetConfig(dg.Config):
    """When a camera counts as silent, and the moment the fleet is judged at."""

    silent_after_s: float = Field(
        600.0, gt=0, description="a camera not heard of for longer than this is silent (default 10 min)"
    )
    now: str = Field(
        "",
        description="judge the fleet as of this UTC time (ISO 8601, e.g. 2026-11-30T12:00:00Z); "
        "empty: the time of the run",
    )
    page_size: int = Field(1000, ge=1, description="status keys listed per store request")


def _now(config: EdgeFleetConfig) -> datetime:
    if not config.now:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(config.now.replace("Z", "+00:00"))
    except ValueError:
        raise dg.Failure(f"edge_fleet config now={config.now!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise dg.Failure(f"edge_fleet config now={config.now!r} has no timezone; write UTC with a Z")
    return parsed.astimezone(UTC)


@dg.asset(
    group_name="monitoring",
    kinds={"python"},
    owners=[OWNER],
    description=(
        "The edge fleet from each agent's heartbeat (agents/<agent_id>/status.json): per agent and "
        "camera, last seen, the model and release it runs, canary or not, its shadow model and agreement, "
        "analysed fps, outbox depth and drops, samples kept in the last hour, errors. Its checks warn "
        "about silent cameras and agents not on the live release."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            CAMERAS_REPORTING,
            asset="edge_fleet",
            description="warns about cameras not heard of for longer than silent_after_s",
        ),
        dg.AssetCheckSpec(
            ON_CURRENT_RELEASE,
            asset="edge_fleet",
            description="warns about agents that have not read the live release or run another model",
        ),
    ],
)
def edge_fleet(
    context: dg.AssetExecutionContext,
    config: EdgeFleetConfig,
    object_store: ObjectStoreResource,
    work_dir: WorkDirResource,
) -> dg.MaterializeResult:
    store = object_store.open()
    now = _now(config)
    context.log.info(f"reading agent statuses from {store.describe()} as of {now.isoformat()}")
    scan = read_agent_statuses(store, page_size=config.page_size)
    for problem in scan.problems:
        context.log.warning(f"unreadable agent status, skipped: {problem}")
    live = ReleaseLedger(store).current()
    report = build_fleet_report(
        scan.statuses, live, now=now, silent_after_s=config.silent_after_s, problems=scan.problems
    )
    chart = plot_last_seen(report, work_dir.path("fleet", context.run.run_id, "last_seen.png"))
    figures = report.figures()
    context.log.info(
        f"{figures['agents']} agents, {figures['cameras']} cameras, {figures['silent_cameras']} silent, "
        f"{figures['agents_on_old_release']} agents on an old release"
    )
    return dg.MaterializeResult(
        metadata={
            **figures,
            "live_release": report.live_release_id or "none",
            "silent_after_s": config.silent_after_s,
            "as_of": now.isoformat().replace("+00:00", "Z"),
            "fleet": dg.MetadataValue.md(report.markdown()),
            "last_seen_chart": dg.MetadataValue.path(str(chart)),
            "agent_errors": dg.MetadataValue.json({a: list(e) for a, e in report.agent_errors.items()}),
            "unreadable": dg.MetadataValue.json(report.problems),
        },
        check_results=[_reporting(report), _on_release(report)],
    )


def _reporting(report: FleetReport) -> dg.AssetCheckResult:
    silent = report.silent
    if not report.cameras:
        message = "no agent has reported a camera yet"
    elif silent:
        message = (
            f"{len(silent)} of {len(report.cameras)} cameras silent for over {report.silent_after_s:g} s: "
            + (", ".join(f"{r.agent_id}/{r.camera_id} ({r.quiet_s:.0f} s)" for r in silent))
        )
    else:
        message = f"all {len(report.cameras)} cameras heard of within {report.silent_after_s:g} s"
    return dg.AssetCheckResult(
        check_name=CAMERAS_REPORTING,
        passed=not silent,
        severity=dg.AssetCheckSeverity.WARN,
        description=message,
        metadata={
            "silent_cameras": len(silent),
            "cameras": len(report.cameras),
            "silent": dg.MetadataValue.json(
                [{"agent_id": r.agent_id, "camera_id": r.camera_id, "quiet_s": r.quiet_s} for r in silent]
            ),
        },
    )


def _on_release(report: FleetReport) -> dg.AssetCheckResult:
    old = report.old_release
    if report.live_release_id is None:
        message = "no release is live yet: nothing to be behind on"
    elif old:
        message = f"{len(old)} agents not on release {report.live_release_id}: " + "; ".join(
            f"{o.agent_id}: {', '.join(o.reasons)}" for o in old
        )
    else:
        message = f"every reporting agent runs release {report.live_release_id}"
    return dg.AssetCheckResult(
        check_name=ON_CURRENT_RELEASE,
        passed=not old,
        severity=dg.AssetCheckSeverity.WARN,
        description=message,
        metadata={
            "agents_on_old_release": len(old),
            "live_release": report.live_release_id or "none",
            "agents": dg.MetadataValue.json({o.agent_id: list(o.reasons) for o in old}),
        },
    )


edge_fleet_job = dg.define_asset_job(
    "edge_fleet_job",
    selection=dg.AssetSelection.assets("edge_fleet"),
    description="Refresh the edge fleet table and its checks from the agents' heartbeats.",
)

edge_fleet_schedule = dg.ScheduleDefinition(
    name="edge_fleet_schedule",
    job=edge_fleet_job,
    cron_schedule="*/10 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 10 minutes: re-read the agents' heartbeats so silent cameras show up by themselves.",
)
