"""The agent status: ``agents/<agent_id>/status.json``, each edge agent's heartbeat.

An agent writes it every ``status_interval_s`` (and once more when it stops), replacing the one
before: it is the latest word of that agent, not a log. The platform's ``edge_fleet`` asset reads
every agent's status to say which camera runs which model of which release, and which went silent.
A camera in shadow mode also carries its ``shadow`` figures (``CameraShadowStatus``: the shadow
model, its frame share, frames offered, compared and dropped, how the two models agree), the same
figures as its /healthz; a camera without a shadow model has none (``"shadow": null``).

Compatibility, as for the other contracts: readers take the fields they know by name and ignore
the rest, and read a missing optional field as "not recorded"; ``STATUS_SCHEMA_VERSION`` rises
only for a change an older reader would misread. ``shadow`` is such an addition within version 1:
an older reader ignores the key, and a status from an older agent, without it, reads as None.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maskops_contracts._fields import (
    as_float,
    as_int,
    as_str,
    as_utc,
    check_schema_version,
    iso_utc,
    load_json,
    require,
    tag_source,
)
from maskops_contracts.errors import ContractError
from maskops_contracts.ids import validate_id

STATUS_SCHEMA_VERSION = 1
#: The agent as a whole: every enabled camera starting, running or (file sources) ended, or not.
AGENT_STATES = ("ok", "degraded")
#: What "model_version" reads while a camera has no model (the edge's ``NO_MODEL``).
NO_MODEL = "none"


def _optional_str(value: Any, field: str) -> str | None:
    return None if value is None else as_str(value, field)


def _optional_float(value: Any, field: str, *, lo: float | None = None) -> float | None:
    return None if value is None else as_float(value, field, lo=lo)


def _optional_bool(value: Any, field: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ContractError(field, f"must be true, false or null, got {value!r}")
    return value


def _counts(value: Any, field: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ContractError(field, f"must be an object of counts, got {value!r}")
    return {as_str(k, field): as_int(v, f"{field}.{k}", minimum=0) for k, v in value.items()}


@dataclass(frozen=True)
class ModelRefusal:
    """A model of the release the agent read that a camera does not run, and why
    (``sha256_mismatch``, ``precision_not_measured``, ``missing``...)."""

    release_id: str
    model_version: str
    reason: str

    def __post_init__(self) -> None:
        validate_id(self.release_id, "release_id")
        validate_id(self.model_version, "model_version")
        as_str(self.reason, "reason")

    def to_dict(self) -> dict[str, Any]:
        return {"release_id": self.release_id, "model_version": self.model_version, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRefusal:
        return cls(
            release_id=require(data, "release_id"),
            model_version=require(data, "model_version"),
            reason=require(data, "reason"),
        )


def _refusal(data: Any) -> ModelRefusal | None:
    if data is None:
        return None
    try:
        return ModelRefusal.from_dict(data)
    except ContractError as err:
        raise err.within("refused") from None


@dataclass(frozen=True)
class CameraShadowStatus:
    """A camera's shadow mode (docs/shadow.md): the candidate it runs beside its own model on a share
    of its frames, only to compare, and how the two agree so far.

    model_version and frame_share: the shadow model the camera has now and the share of frames it
    runs on (both None once a later release dropped the shadow). Counts since the agent started,
    over every shadow model the camera has had (not reset when the shadow changes): frames offered
    to the shadow (picked by the share), compared, dropped (the shadow worker was busy) and failed;
    boxes_matched (pairs at IoU >= 0.5) and class_agreed (of those, with the same class);
    champion_only / shadow_only (boxes one model found and the other did not); samples_kept
    (frames kept because the two disagree). agreement: class_agreed over every box either found (None
    before a compared frame had a box); mean_confidence_delta: shadow minus camera-model confidence
    over matched pairs (None before one).
    """

    model_version: str | None = None
    frame_share: float | None = None
    frames_offered: int = 0
    frames_compared: int = 0
    frames_dropped: int = 0
    frames_failed: int = 0
    boxes_matched: int = 0
    class_agreed: int = 0
    champion_only: int = 0
    shadow_only: int = 0
    samples_kept: int = 0
    agreement: float | None = None
    mean_confidence_delta: float | None = None

    def __post_init__(self) -> None:
        if self.model_version is not None:
            validate_id(self.model_version, "model_version")
        share = _optional_float(self.frame_share, "frame_share", lo=0.0)
        if share is not None and not 0.0 < share <= 1.0:
            raise ContractError("frame_share", f"must be > 0 and <= 1, got {share}")
        object.__setattr__(self, "frame_share", share)
        for name in (
            "frames_offered",
            "frames_compared",
            "frames_dropped",
            "frames_failed",
            "boxes_matched",
            "class_agreed",
            "champion_only",
            "shadow_only",
            "samples_kept",
        ):
            as_int(getattr(self, name), name, minimum=0)
        if self.class_agreed > self.boxes_matched:
            raise ContractError(
                "class_agreed", f"must be <= boxes_matched ({self.boxes_matched}), got {self.class_agreed}"
            )
        agreement = None if self.agreement is None else as_float(self.agreement, "agreement", lo=0.0, hi=1.0)
        object.__setattr__(self, "agreement", agreement)
        delta = self.mean_confidence_delta
        if delta is not None:
            delta = as_float(delta, "mean_confidence_delta", lo=-1.0, hi=1.0)
        object.__setattr__(self, "mean_confidence_delta", delta)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "frame_share": self.frame_share,
            "frames_offered": self.frames_offered,
            "frames_compared": self.frames_compared,
            "frames_dropped": self.frames_dropped,
            "frames_failed": self.frames_failed,
            "boxes_matched": self.boxes_matched,
            "class_agreed": self.class_agreed,
            "champion_only": self.champion_only,
            "shadow_only": self.shadow_only,
            "samples_kept": self.samples_kept,
            "agreement": self.agreement,
            "mean_confidence_delta": self.mean_confidence_delta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraShadowStatus:
        if not isinstance(data, dict):
            raise ContractError("<root>", f"must be an object, got {data!r}")
        return cls(
            model_version=data.get("model_version"),
            frame_share=data.get("frame_share"),
            frames_offered=data.get("frames_offered", 0),
            frames_compared=data.get("frames_compared", 0),
            frames_dropped=data.get("frames_dropped", 0),
            frames_failed=data.get("frames_failed", 0),
            boxes_matched=data.get("boxes_matched", 0),
            class_agreed=data.get("class_agreed", 0),
            champion_only=data.get("champion_only", 0),
            shadow_only=data.get("shadow_only", 0),
            samples_kept=data.get("samples_kept", 0),
            agreement=data.get("agreement"),
            mean_confidence_delta=data.get("mean_confidence_delta"),
        )


def _shadow(data: Any) -> CameraShadowStatus | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ContractError("shadow", f"must be an object or null, got {data!r}")
    try:
        return CameraShadowStatus.from_dict(data)
    except ContractError as err:
        raise err.within("shadow") from None


@dataclass(frozen=True)
class CameraStatus:
    """One camera of the agent, as the agent saw it when it wrote the status.

    state: the camera's state (``starting``, ``running``, ``reconnecting``, ``stalled``, ``ended``,
    ``failed``, ``stopped``); model_version: what it runs (``none`` before any model), with the
    release it came with (None for a configured model), whether it is the release's canary model,
    and the runtime and precision it runs at. analysed_fps: frames the detector ran on per second
    over the last status interval. samples_kept_last_hour: frames kept for labeling over the last
    hour (rolling). frame_errors: frames that failed in processing since the agent started;
    last_error: the camera's latest source or frame error (None when there is none). shadow: its
    shadow mode figures (``CameraShadowStatus``), None when it runs no shadow model.
    """

    camera_id: str
    state: str
    model_version: str = NO_MODEL
    release_id: str | None = None
    canary: bool | None = None
    runtime: str | None = None
    precision: str | None = None
    analysed_fps: float = 0.0
    frames_read: int = 0
    frames_analysed: int = 0
    frames_without_model: int = 0
    samples_kept: int = 0
    samples_kept_last_hour: int = 0
    frame_errors: int = 0
    restarts: int = 0
    last_frame_age_s: float | None = None
    last_error: str | None = None
    refused: ModelRefusal | None = None
    shadow: CameraShadowStatus | None = None

    def __post_init__(self) -> None:
        validate_id(self.camera_id, "camera_id")
        as_str(self.state, "state")
        validate_id(self.model_version, "model_version")
        if self.release_id is not None:
            validate_id(self.release_id, "release_id")
        _optional_bool(self.canary, "canary")
        _optional_str(self.runtime, "runtime")
        _optional_str(self.precision, "precision")
        object.__setattr__(self, "analysed_fps", as_float(self.analysed_fps, "analysed_fps", lo=0.0))
        for name in (
            "frames_read",
            "frames_analysed",
            "frames_without_model",
            "samples_kept",
            "samples_kept_last_hour",
            "frame_errors",
            "restarts",
        ):
            as_int(getattr(self, name), name, minimum=0)
        object.__setattr__(
            self, "last_frame_age_s", _optional_float(self.last_frame_age_s, "last_frame_age_s", lo=0.0)
        )
        if self.last_error is not None and not isinstance(self.last_error, str):
            raise ContractError("last_error", f"must be a string or null, got {self.last_error!r}")
        if self.refused is not None and not isinstance(self.refused, ModelRefusal):
            raise ContractError("refused", f"must be a ModelRefusal, got {type(self.refused).__name__}")
        if self.shadow is not None and not isinstance(self.shadow, CameraShadowStatus):
            raise ContractError("shadow", f"must be a CameraShadowStatus, got {type(self.shadow).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """The camera's entry under ``cameras`` (its id is the key there, not a field)."""
        return {
            "state": self.state,
            "model_version": self.model_version,
            "release_id": self.release_id,
            "canary": self.canary,
            "runtime": self.runtime,
            "precision": self.precision,
            "analysed_fps": self.analysed_fps,
            "frames_read": self.frames_read,
            "frames_analysed": self.frames_analysed,
            "frames_without_model": self.frames_without_model,
            "samples_kept": self.samples_kept,
            "samples_kept_last_hour": self.samples_kept_last_hour,
            "frame_errors": self.frame_errors,
            "restarts": self.restarts,
            "last_frame_age_s": self.last_frame_age_s,
            "last_error": self.last_error,
            "refused": self.refused.to_dict() if self.refused else None,
            "shadow": self.shadow.to_dict() if self.shadow else None,
        }

    @classmethod
    def from_dict(cls, camera_id: str, data: dict[str, Any]) -> CameraStatus:
        try:
            if not isinstance(data, dict):
                raise ContractError("<camera>", f"must be an object, got {data!r}")
            refused = data.get("refused")
            return cls(
                camera_id=camera_id,
                state=require(data, "state"),
                model_version=data.get("model_version", NO_MODEL),
                release_id=data.get("release_id"),
                canary=data.get("canary"),
                runtime=data.get("runtime"),
                precision=data.get("precision"),
                analysed_fps=data.get("analysed_fps", 0.0),
                frames_read=data.get("frames_read", 0),
                frames_analysed=data.get("frames_analysed", 0),
                frames_without_model=data.get("frames_without_model", 0),
                samples_kept=data.get("samples_kept", 0),
                samples_kept_last_hour=data.get("samples_kept_last_hour", 0),
                frame_errors=data.get("frame_errors", 0),
                restarts=data.get("restarts", 0),
                last_frame_age_s=data.get("last_frame_age_s"),
                last_error=data.get("last_error"),
                refused=_refusal(refused),
                shadow=_shadow(data.get("shadow")),
            )
        except ContractError as err:
            raise err.within(f"cameras.{camera_id}") from None


@dataclass(frozen=True)
class OutboxStatus:
    """The agent's disk spool: items waiting and dropped, per kind (``sample``, ``telemetry``),
    bytes queued, failed uploads in a row and the latest upload error."""

    depth: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    upload_failures_in_a_row: int = 0
    last_error: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", _counts(self.depth, "depth"))
        object.__setattr__(self, "dropped", _counts(self.dropped, "dropped"))
        as_int(self.bytes, "bytes", minimum=0)
        as_int(self.upload_failures_in_a_row, "upload_failures_in_a_row", minimum=0)
        if self.last_error is not None and not isinstance(self.last_error, str):
            raise ContractError("last_error", f"must be a string or null, got {self.last_error!r}")

    @property
    def total_depth(self) -> int:
        return sum(self.depth.values())

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": dict(self.depth),
            "dropped": dict(self.dropped),
            "bytes": self.bytes,
            "upload_failures_in_a_row": self.upload_failures_in_a_row,
            "last_error": self.last_error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutboxStatus:
        try:
            if not isinstance(data, dict):
                raise ContractError("<outbox>", f"must be an object, got {data!r}")
            return cls(
                depth=data.get("depth", {}),
                dropped=data.get("dropped", {}),
                bytes=data.get("bytes", 0),
                upload_failures_in_a_row=data.get("upload_failures_in_a_row", 0),
                last_error=data.get("last_error"),
            )
        except ContractError as err:
            raise err.within("outbox") from None


@dataclass(frozen=True)
class AgentStatus:
    """One agent's heartbeat: who, when, what each camera runs and how it does, the outbox.

    sent_at: when the agent wrote it (UTC; the platform's "last seen"). status_interval_s: how
    often the agent writes one (so a reader can tell a late heartbeat from a slow cadence).
    manifest_release_id: the release manifest the agent read last (None before any release).
    errors: the agent's current problems in a line each (an unreachable store, a refused model).
    """

    agent_id: str
    sent_at: datetime
    cameras: tuple[CameraStatus, ...]
    status: str = "ok"
    manifest_release_id: str | None = None
    outbox: OutboxStatus = field(default_factory=OutboxStatus)
    errors: tuple[str, ...] = ()
    status_interval_s: float | None = None
    uptime_s: float | None = None
    schema_version: int = STATUS_SCHEMA_VERSION

    def __post_init__(self) -> None:
        validate_id(self.agent_id, "agent_id")
        object.__setattr__(self, "sent_at", as_utc(self.sent_at, "sent_at"))
        if self.status not in AGENT_STATES:
            raise ContractError("status", f"must be one of {', '.join(AGENT_STATES)}, got {self.status!r}")
        if self.manifest_release_id is not None:
            validate_id(self.manifest_release_id, "manifest_release_id")
        cameras = tuple(self.cameras)
        seen: set[str] = set()
        for i, camera in enumerate(cameras):
            if not isinstance(camera, CameraStatus):
                raise ContractError(f"cameras[{i}]", f"must be a CameraStatus, got {type(camera).__name__}")
            if camera.camera_id in seen:
                raise ContractError(f"cameras[{i}]", f"camera {camera.camera_id!r} is listed twice")
            seen.add(camera.camera_id)
        object.__setattr__(self, "cameras", cameras)
        if not isinstance(self.outbox, OutboxStatus):
            raise ContractError("outbox", f"must be an OutboxStatus, got {type(self.outbox).__name__}")
        errors = tuple(self.errors)
        for i, line in enumerate(errors):
            as_str(line, f"errors[{i}]")
        object.__setattr__(self, "errors", errors)
        object.__setattr__(
            self, "status_interval_s", _optional_float(self.status_interval_s, "status_interval_s", lo=0.0)
        )
        object.__setattr__(self, "uptime_s", _optional_float(self.uptime_s, "uptime_s", lo=0.0))

    def camera(self, camera_id: str) -> CameraStatus:
        """The status of ``camera_id``; KeyError naming the cameras there are otherwise."""
        for camera in self.cameras:
            if camera.camera_id == camera_id:
                return camera
        raise KeyError(f"agent {self.agent_id} has no camera {camera_id!r}; it has {self.camera_ids}")

    @property
    def camera_ids(self) -> tuple[str, ...]:
        return tuple(c.camera_id for c in self.cameras)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "agent_id": self.agent_id,
            "sent_at": iso_utc(self.sent_at),
            "status": self.status,
            "manifest_release_id": self.manifest_release_id,
            "cameras": {c.camera_id: c.to_dict() for c in self.cameras},
            "outbox": self.outbox.to_dict(),
            "errors": list(self.errors),
            "status_interval_s": self.status_interval_s,
            "uptime_s": self.uptime_s,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> AgentStatus:
        try:
            version = check_schema_version(data, STATUS_SCHEMA_VERSION, "agent status")
            cameras = require(data, "cameras")
            if not isinstance(cameras, dict):
                raise ContractError("cameras", f"must be an object keyed by camera_id, got {cameras!r}")
            errors = data.get("errors") or []
            if not isinstance(errors, list):
                raise ContractError("errors", f"must be a list of strings, got {errors!r}")
            outbox = data.get("outbox")
            return cls(
                agent_id=require(data, "agent_id"),
                sent_at=require(data, "sent_at"),
                cameras=tuple(CameraStatus.from_dict(cid, body) for cid, body in cameras.items()),
                status=data.get("status", "ok"),
                manifest_release_id=data.get("manifest_release_id"),
                outbox=OutboxStatus.from_dict(outbox) if outbox is not None else OutboxStatus(),
                errors=tuple(errors),
                status_interval_s=data.get("status_interval_s"),
                uptime_s=data.get("uptime_s"),
                schema_version=version,
            )
        except ContractError as err:
            raise tag_source(err, source) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str | None = None) -> AgentStatus:
        return cls.from_dict(load_json(text, source), source=source)
