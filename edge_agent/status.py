"""The agent's heartbeat: ``agents/<agent_id>/status.json`` in the store, every ``status_interval_s``.

``StatusReporter`` builds an ``AgentStatus`` (``maskops_contracts.status``) from what the agent
already tracks: each camera's counters and health, the model it runs (from its ``ModelHolder``),
model sync's last manifest and refusals, the outbox's depth and dropped counts. Two figures are
computed here: ``analysed_fps`` (frames analysed per second since the previous status) and
``samples_kept_last_hour`` (a rolling count over snapshots of the kept-sample counter). A camera in
shadow mode reports its shadow worker's figures as they are in its /healthz (``shadow_status``).

``StatusPublisher`` sends it through the agent's store transport, the one the outbox uploads
with (same store, same prefix). A heartbeat is latest-wins, so it does not go into the durable
outbox queue: the publisher holds one slot that each new status replaces, and retries the slot
with backoff while the store is down. After an outage the store gets the newest status once, not
the hundreds an hour-long outage would otherwise have queued, and the outbox's disk budget stays
with samples and telemetry. A status lost to a crash costs nothing: the next one supersedes it.
"""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from edge_agent.backoff import backoff_delay
from edge_agent.logs import OnceLogger, log_event
from edge_agent.transport import Transport, TransportError
from maskops_contracts import (
    MANIFEST_KEY,
    AgentStatus,
    CameraStatus,
    ContractError,
    ModelRefusal,
    OutboxStatus,
    ReleaseManifest,
    agent_status_key,
)
from maskops_contracts.status import CameraShadowStatus

logger = logging.getLogger("edge_agent.status")

#: camera states that keep an agent "ok" (the same rule as /healthz)
_HEALTHY_STATES = {"starting", "running", "ended", "disabled"}
_HOUR_S = 3600.0


class _Worker(Protocol):
    """What the reporter reads of a camera worker (``edge_agent.camera_worker.CameraWorker``)."""

    camera_id: str
    counters: Any

    def health(self, now: float | None = None) -> dict[str, object]: ...


class RollingCount:
    """How much a growing counter rose over the last ``window_s``, from snapshots of it.

    ``observe(now, total)`` records the counter; ``over_window(now, total)`` is ``total`` minus the
    newest snapshot at least ``window_s`` old (or minus the first one, while the counter is
    younger than the window). Precise to the spacing of the snapshots (one per status interval).
    """

    def __init__(self, window_s: float = _HOUR_S, start: float = 0.0, initial: int = 0) -> None:
        self.window_s = window_s
        self._times: list[float] = [start]
        self._totals: list[int] = [initial]

    def observe(self, now: float, total: int) -> None:
        self._times.append(now)
        self._totals.append(total)
        # keep one snapshot at or before the window's start, drop the older ones
        keep_from = max(0, bisect.bisect_right(self._times, now - self.window_s) - 1)
        if keep_from:
            del self._times[:keep_from]
            del self._totals[:keep_from]

    def over_window(self, now: float, total: int) -> int:
        index = max(0, bisect.bisect_right(self._times, now - self.window_s) - 1)
        return max(0, total - self._totals[index])


class ManifestView:
    """The release manifest model sync last read, to tell whether a camera runs its canary.

    Model sync keeps only the release id; this reads ``releases/manifest.json`` again when that
    id changes (one read per release, not per heartbeat) and keeps it while it matches.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._manifest: ReleaseManifest | None = None

    def get(self, release_id: str | None) -> ReleaseManifest | None:
        if release_id is None:
            return None
        if self._manifest is not None and self._manifest.release_id == release_id:
            return self._manifest
        try:
            raw = self.transport.get(MANIFEST_KEY)
            manifest = ReleaseManifest.from_json(raw, source=MANIFEST_KEY) if raw is not None else None
        except (TransportError, ContractError):
            return None  # model sync reports those; the canary flag is "unknown" meanwhile
        if manifest is not None and manifest.release_id == release_id:
            self._manifest = manifest
            return manifest
        return None  # the live manifest moved on since model sync read it: look again next time


def is_canary(manifest: ReleaseManifest | None, model_version: str, sha256: str | None) -> bool | None:
    """Whether a camera running ``model_version`` runs ``manifest``'s canary (None: unknown)."""
    if manifest is None:
        return None
    canary = manifest.canary
    return canary is not None and canary.model_version == model_version and canary.sha256 == sha256


class StatusReporter:
    """Builds the agent's ``AgentStatus`` from its parts; ``build()`` is cheap (no I/O but one
    manifest read per release)."""

    def __init__(
        self,
        agent_id: str,
        workers: Sequence[_Worker],
        *,
        disabled: Iterable[str] = (),
        model_sync: Any,
        outbox: Any,
        manifests: ManifestView | None = None,
        interval_s: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.agent_id = agent_id
        self.workers = list(workers)
        self.disabled = list(disabled)
        self.model_sync = model_sync
        self.outbox = outbox
        self.manifests = manifests
        self.interval_s = interval_s
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self.restart()

    def restart(self) -> None:
        """Start counting rates and the rolling hour from now (the agent calls it when it runs)."""
        now = self._monotonic()
        with self._lock:
            self._started_at = now
            self._last: dict[str, tuple[float, int]] = {
                w.camera_id: (now, w.counters.frames_analysed) for w in self.workers
            }
            self._kept = {
                w.camera_id: RollingCount(_HOUR_S, now, w.counters.samples_kept) for w in self.workers
            }

    def build(self) -> AgentStatus:
        with self._lock:
            now = self._monotonic()
            manifest_release_id = getattr(self.model_sync, "release_id", None)
            manifest = self.manifests.get(manifest_release_id) if self.manifests else None
            refusals: dict[str, dict[str, str]] = dict(getattr(self.model_sync, "refusals", {}) or {})
            cameras = [self._camera(w, now, manifest, refusals.get(w.camera_id)) for w in self.workers]
            cameras += [CameraStatus(camera_id=c, state="disabled") for c in self.disabled]
            stats = self.outbox.stats()
            outbox = OutboxStatus(
                depth=dict(stats.depth),
                dropped=dict(stats.dropped),
                bytes=stats.bytes,
                upload_failures_in_a_row=stats.consecutive_failures,
                last_error=stats.last_error,
            )
            return AgentStatus(
                agent_id=self.agent_id,
                sent_at=self._wall(),
                cameras=tuple(cameras),
                status="ok" if all(c.state in _HEALTHY_STATES for c in cameras) else "degraded",
                manifest_release_id=manifest_release_id,
                outbox=outbox,
                errors=tuple(_errors(cameras, outbox)),
                status_interval_s=self.interval_s,
                uptime_s=round(max(0.0, now - self._started_at), 1),
            )

    def _camera(
        self, worker: _Worker, now: float, manifest: ReleaseManifest | None, refusal: dict[str, str] | None
    ) -> CameraStatus:
        health = worker.health(now)
        counters = worker.counters
        then, analysed_then = self._last.get(worker.camera_id, (self._started_at, 0))
        elapsed = now - then
        fps = (counters.frames_analysed - analysed_then) / elapsed if elapsed > 0 else 0.0
        self._last[worker.camera_id] = (now, counters.frames_analysed)
        kept = self._kept.setdefault(worker.camera_id, RollingCount(_HOUR_S, self._started_at))
        kept.observe(now, counters.samples_kept)
        holder = getattr(worker, "holder", None)
        active = holder.current() if holder is not None else None
        model_version = str(health["model_version"])
        refused = None
        if refusal:
            refused = ModelRefusal(refusal["release_id"], refusal["model_version"], refusal["reason"])
        return CameraStatus(
            camera_id=worker.camera_id,
            state=str(health["status"]),
            model_version=model_version,
            release_id=health.get("release_id"),  # type: ignore[arg-type]
            canary=is_canary(manifest, model_version, active.sha256 if active else None),
            runtime=health.get("runtime"),  # type: ignore[arg-type]
            precision=health.get("precision"),  # type: ignore[arg-type]
            analysed_fps=round(max(0.0, fps), 3),
            frames_read=counters.frames_read,
            frames_analysed=counters.frames_analysed,
            frames_without_model=counters.frames_without_model,
            samples_kept=counters.samples_kept,
            samples_kept_last_hour=kept.over_window(now, counters.samples_kept),
            frame_errors=counters.frame_errors,
            restarts=counters.restarts,
            last_frame_age_s=health.get("last_frame_age_s"),  # type: ignore[arg-type]
            last_error=health.get("last_error"),  # type: ignore[arg-type]
            refused=refused,
            shadow=shadow_status(health.get("shadow")),  # type: ignore[arg-type]
        )


def shadow_status(health: dict[str, Any] | None) -> CameraShadowStatus | None:
    """A camera's shadow figures for the status, from its shadow worker's health (``"shadow"`` in
    the camera's /healthz, ``edge_agent.shadow.ShadowWorker.health``); None without a shadow."""
    if health is None:
        return None
    return CameraShadowStatus(
        model_version=health["model_version"],
        frame_share=health["frame_share"],
        frames_offered=health["frames_offered"],
        frames_compared=health["frames_compared"],
        frames_dropped=health["frames_dropped"],
        frames_failed=health["frames_failed"],
        boxes_matched=health["boxes_matched"],
        class_agreed=health["class_agreed"],
        champion_only=health["champion_only"],
        shadow_only=health["shadow_only"],
        samples_kept=health["samples_kept"],
        agreement=health["agreement"],
        mean_confidence_delta=health["mean_confidence_delta"],
    )


def _errors(cameras: Sequence[CameraStatus], outbox: OutboxStatus) -> list[str]:
    """The agent's current problems, a line each, for a person reading the fleet table."""
    lines = []
    for c in cameras:
        if c.state not in _HEALTHY_STATES:
            lines.append(f"camera {c.camera_id} is {c.state}" + (f": {c.last_error}" if c.last_error else ""))
        if c.refused is not None:
            lines.append(
                f"camera {c.camera_id} refused {c.refused.model_version} of release "
                f"{c.refused.release_id} ({c.refused.reason})"
            )
    if outbox.upload_failures_in_a_row:
        lines.append(
            f"uploads failing ({outbox.upload_failures_in_a_row} in a row): {outbox.last_error or 'unknown'}"
        )
    return lines


class StatusPublisher:
    """Writes the newest status to ``agents/<agent_id>/status.json``, latest-wins.

    ``offer`` replaces the pending status; ``send_pending`` tries to store it (True when nothing is
    left pending). ``run`` does both every ``interval_s`` until stopped, retrying a failed send with
    backoff (``retry_initial_s`` .. ``retry_max_s``) until the next status replaces it.
    """

    def __init__(
        self,
        transport: Transport,
        agent_id: str,
        build: Callable[[], AgentStatus],
        *,
        interval_s: float,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.transport = transport
        self.key = agent_status_key(agent_id)
        self.build = build
        self.interval_s = interval_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = min(retry_max_s, interval_s) if interval_s > 0 else retry_max_s
        self._rng = rng or random.Random()
        self._pending: AgentStatus | None = None
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._once = OnceLogger(logger)
        self._failures = 0
        #: statuses stored, and statuses replaced before they could be stored (an outage)
        self.sent = 0
        self.superseded = 0
        self.last_sent: AgentStatus | None = None

    def offer(self, status: AgentStatus) -> None:
        with self._lock:
            if self._pending is not None:
                self.superseded += 1
            self._pending = status

    @property
    def pending(self) -> AgentStatus | None:
        with self._lock:
            return self._pending

    def send_pending(self) -> bool:
        """Store the pending status; True when nothing is left pending (sent, or nothing to send)."""
        with self._send_lock:
            with self._lock:
                status = self._pending
            if status is None:
                return True
            try:
                self.transport.put(self.key, status.to_json().encode("utf-8"), "application/json")
            except TransportError as err:
                self._failures += 1
                self._once.log(
                    logging.WARNING,
                    "status_upload_failed",
                    "outage",
                    f"cannot write {self.key} to {self.transport.describe()}: {err}; the newest status "
                    "is sent when the store is back (older ones are replaced, not queued)",
                    key=self.key,
                )
                return False
            with self._lock:
                if self._pending is status:  # a newer one offered meanwhile stays pending
                    self._pending = None
                self.sent += 1
                self.last_sent = status
                nothing_left = self._pending is None
            if self._failures:
                self._failures = 0
                self._once.forget("status_upload_failed")
                log_event(logger, logging.INFO, "status_store_back", f"{self.key} written again")
            return nothing_left

    def publish_now(self) -> bool:
        """Build a status, make it the pending one and try to send it."""
        self.offer(self.build())
        return self.send_pending()

    def run(self, stop: threading.Event) -> None:
        """Publish every ``interval_s`` until ``stop`` (the first at once), retrying in between."""
        next_status = time.monotonic()
        retry_at: float | None = None
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_status:
                next_status = now + self.interval_s
                try:
                    self.offer(self.build())
                    retry_at = now
                except Exception as err:  # a bad figure must not end the heartbeat for good
                    self._once.log(
                        logging.ERROR,
                        "status_build_failed",
                        type(err).__name__,
                        f"cannot build the agent status: {err!r}; trying again next interval",
                    )
            if retry_at is not None and now >= retry_at:
                if self.send_pending():
                    retry_at = None
                else:
                    retry_at = time.monotonic() + backoff_delay(
                        self._failures, self.retry_initial_s, self.retry_max_s, self._rng
                    )
            wake = next_status if retry_at is None else min(next_status, retry_at)
            stop.wait(max(0.01, wake - time.monotonic()))
