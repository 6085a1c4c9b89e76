"""One row per agent and camera, judged against the live release manifest at a given ``now``.

A camera is **silent** when nothing new was heard of it for longer than ``silent_after_s``: its
agent's last status is that old, or (for a camera that should be reading: not ended, stopped or
disabled) its last frame, as the agent reported it, is. An agent is **on an old release** when a
release is live and the agent has not read it yet, or one of its cameras runs a model other than
the one the live manifest names for it (a refused model says why). A camera in shadow mode shows
its shadow model and how far the two agree (the share of boxes either found that both found with
the same class), as its agent last reported it. ``now`` is always passed in: nothing here reads
the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from maskops_contracts import AgentStatus, CameraStatus, ReleaseManifest
from maskops_contracts.status import CameraShadowStatus

#: camera states whose frame age says nothing (a finished file, a camera turned off or stopping)
_NOT_READING = ("ended", "stopped", "disabled")


@dataclass(frozen=True)
class FleetRow:
    """One camera of one agent."""

    agent_id: str
    camera_id: str
    last_seen: datetime
    #: seconds since the agent's last status
    seen_age_s: float
    #: seconds since anything new was heard of the camera (status age + its frame age when reading)
    quiet_s: float
    silent: bool
    state: str
    model_version: str
    release_id: str | None
    #: runs the live release's canary model (the agent's own word when no release is live)
    canary: bool | None
    #: what the live manifest names for this camera (None: no release is live)
    expected_model: str | None
    runtime: str | None
    precision: str | None
    analysed_fps: float
    frames_without_model: int
    samples_kept_last_hour: int
    frame_errors: int
    last_error: str | None
    outbox_depth: int
    outbox_dropped: int
    refused: str | None = None
    #: the camera's shadow mode figures, as its agent reported them (None: it runs no shadow)
    shadow: CameraShadowStatus | None = None


@dataclass(frozen=True)
class OldRelease:
    """An agent not on the live release, and why."""

    agent_id: str
    reasons: tuple[str, ...]


@dataclass
class FleetReport:
    now: datetime
    silent_after_s: float
    live_release_id: str | None
    rows: list[FleetRow] = field(default_factory=list)
    old_release: list[OldRelease] = field(default_factory=list)
    agent_errors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def agents(self) -> list[str]:
        return sorted({r.agent_id for r in self.rows} | set(self.agent_errors))

    @property
    def cameras(self) -> list[FleetRow]:
        """The rows of enabled cameras (a disabled one is listed but not counted or judged)."""
        return [r for r in self.rows if r.state != "disabled"]

    @property
    def silent(self) -> list[FleetRow]:
        return [r for r in self.rows if r.silent]

    def figures(self) -> dict[str, float | int]:
        """The numbers the asset's metadata and its checks carry."""
        cameras = self.cameras
        return {
            "agents": len(self.agents),
            "cameras": len(cameras),
            "silent_cameras": len(self.silent),
            "agents_on_old_release": len(self.old_release),
            "canary_cameras": sum(1 for r in cameras if r.canary),
            "shadow_cameras": sum(1 for r in cameras if r.shadow is not None and r.shadow.model_version),
            "analysed_fps": round(sum(r.analysed_fps for r in cameras), 3),
            "samples_kept_last_hour": sum(r.samples_kept_last_hour for r in cameras),
            "outbox_dropped": sum({r.agent_id: r.outbox_dropped for r in cameras}.values()),
            "unreadable_statuses": len(self.problems),
        }

    def markdown(self) -> str:
        """The fleet table: one line per agent and camera, silent ones first."""
        if not self.rows:
            return "_no agent has reported yet (no `agents/<agent_id>/status.json` in the store)_"
        head = (
            "| agent | camera | last seen | state | model (release) | canary | shadow: agreement (compared) "
            "| fps | no-model frames | outbox depth / dropped | kept 1 h | errors |"
        )
        lines = [head, "|" + "---|" * 12]
        for r in sorted(self.rows, key=lambda r: (not r.silent, r.agent_id, r.camera_id)):
            seen = f"{_age(r.seen_age_s)} ago"
            if r.silent:
                seen = f"**SILENT {_age(r.quiet_s)}**"
            model = f"{r.model_version} ({r.release_id or '-'})"
            if r.expected_model is not None and r.model_version != r.expected_model and r.state != "disabled":
                model += f", release names {r.expected_model}"
            errors = str(r.frame_errors) + (f": {_short(r.last_error)}" if r.last_error else "")
            if r.refused:
                errors += f"; refused {r.refused}"
            lines.append(
                f"| {r.agent_id} | {r.camera_id} | {seen} | {r.state} | {model} | "
                f"{_yes_no(r.canary)} | {_cell(_shadow_cell(r.shadow))} | {r.analysed_fps:.1f} | "
                f"{r.frames_without_model} | {r.outbox_depth} / {r.outbox_dropped} | "
                f"{r.samples_kept_last_hour} | {_cell(errors)} |"
            )
        return "\n".join(lines)


def build_fleet_report(
    statuses: Iterable[AgentStatus],
    live: ReleaseManifest | None,
    *,
    now: datetime,
    silent_after_s: float,
    problems: Iterable[str] = (),
) -> FleetReport:
    """The fleet at ``now`` (timezone-aware), against the live manifest ``live`` (None: no release)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC), as every sent_at is")
    if silent_after_s <= 0:
        raise ValueError(f"silent_after_s must be > 0, got {silent_after_s}")
    report = FleetReport(
        now=now,
        silent_after_s=silent_after_s,
        live_release_id=live.release_id if live else None,
        problems=list(problems),
    )
    for status in statuses:
        seen_age = max(0.0, (now - status.sent_at).total_seconds())
        for camera in status.cameras:
            report.rows.append(_row(status, camera, live, seen_age, silent_after_s))
        if status.errors:
            report.agent_errors[status.agent_id] = status.errors
        reasons = _old_release_reasons(status, live)
        if reasons:
            report.old_release.append(OldRelease(status.agent_id, tuple(reasons)))
    return report


def _row(
    status: AgentStatus,
    camera: CameraStatus,
    live: ReleaseManifest | None,
    seen_age: float,
    silent_after_s: float,
) -> FleetRow:
    quiet = seen_age
    if camera.state not in _NOT_READING and camera.last_frame_age_s is not None:
        quiet += camera.last_frame_age_s
    expected = live.model_for(camera.camera_id) if live else None
    if live is None or camera.state == "disabled":
        canary = camera.canary
    else:
        canary = live.canary is not None and camera.model_version == live.canary.model_version
    refused = None
    if camera.refused is not None:
        refused = f"{camera.refused.model_version} of {camera.refused.release_id} ({camera.refused.reason})"
    return FleetRow(
        agent_id=status.agent_id,
        camera_id=camera.camera_id,
        last_seen=status.sent_at,
        seen_age_s=round(seen_age, 1),
        quiet_s=round(quiet, 1),
        silent=camera.state != "disabled" and quiet > silent_after_s,
        state=camera.state,
        model_version=camera.model_version,
        release_id=camera.release_id,
        canary=canary,
        expected_model=expected.model_version if expected else None,
        runtime=camera.runtime,
        precision=camera.precision,
        analysed_fps=camera.analysed_fps,
        frames_without_model=camera.frames_without_model,
        samples_kept_last_hour=camera.samples_kept_last_hour,
        frame_errors=camera.frame_errors,
        last_error=camera.last_error,
        outbox_depth=status.outbox.total_depth,
        outbox_dropped=status.outbox.total_dropped,
        refused=refused,
        shadow=camera.shadow,
    )


def _old_release_reasons(status: AgentStatus, live: ReleaseManifest | None) -> list[str]:
    if live is None:
        return []
    reasons = []
    if status.manifest_release_id != live.release_id:
        reasons.append(f"has read release {status.manifest_release_id or 'none'}, live is {live.release_id}")
    for camera in status.cameras:
        if camera.state == "disabled":
            continue
        expected = live.model_for(camera.camera_id).model_version
        if camera.model_version != expected:
            why = f" (refused: {camera.refused.reason})" if camera.refused else ""
            runs = f"camera {camera.camera_id} runs {camera.model_version}"
            reasons.append(f"{runs}, {live.release_id} names {expected}{why}")
    return reasons


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _shadow_cell(shadow: CameraShadowStatus | None) -> str:
    """``v2: 97.5% (1200)``: the shadow model, the share of boxes the two models agree on, the
    frames compared; ``-`` without a shadow, ``(none now)`` for a shadow a later release removed."""
    if shadow is None:
        return "-"
    agreement = "-" if shadow.agreement is None else f"{shadow.agreement:.1%}"
    text = f"{shadow.model_version or '(none now)'}: {agreement} ({shadow.frames_compared})"
    if shadow.frames_dropped:
        text += f", {shadow.frames_dropped} dropped"
    return text


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
