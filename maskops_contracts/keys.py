"""Object-store keys, the same in an S3 bucket or a local directory."""

from __future__ import annotations

import re
from datetime import date, datetime

from maskops_contracts.errors import ContractError
from maskops_contracts.ids import validate_id

MANIFEST_KEY = "releases/manifest.json"
SAMPLES_PREFIX = "samples/"
TELEMETRY_PREFIX = "telemetry/"
#: shadow comparisons (``maskops_contracts.telemetry.ShadowRow``), batched like telemetry
SHADOW_PREFIX = "shadow/"
MODELS_PREFIX = "models/"
AGENTS_PREFIX = "agents/"
#: the name of an agent's status object under ``agents/<agent_id>/``
AGENT_STATUS_NAME = "status.json"

_SAMPLE_KEY = re.compile(
    r"^samples/(?P<camera_id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<sample_id>[^/]+)\.(?P<ext>jpg|json)$"
)


def _day(value: date | datetime | str) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ContractError("date", f"must be YYYY-MM-DD, got {value!r}") from None


def sample_key(camera_id: str, day: date | datetime | str, sample_id: str, ext: str) -> str:
    """``samples/<camera_id>/<YYYY-MM-DD>/<sample_id>.<jpg|json>``."""
    if ext not in ("jpg", "json"):
        raise ContractError("ext", f"must be 'jpg' or 'json', got {ext!r}")
    camera = validate_id(camera_id, "camera_id")
    return f"samples/{camera}/{_day(day)}/{validate_id(sample_id, 'sample_id')}.{ext}"


def parse_sample_key(key: str) -> tuple[str, str, str, str]:
    """(camera_id, date, sample_id, ext) of a sample key; ContractError if it is not one."""
    match = _SAMPLE_KEY.match(key)
    if not match:
        raise ContractError(
            "key", f"{key!r} is not a sample key (samples/<camera>/<YYYY-MM-DD>/<id>.jpg|json)"
        )
    validate_id(match["camera_id"], "camera_id")
    validate_id(match["sample_id"], "sample_id")
    return match["camera_id"], match["date"], match["sample_id"], match["ext"]


def telemetry_key(camera_id: str, day: date | datetime | str, batch_id: str) -> str:
    """``telemetry/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet``."""
    return (
        f"telemetry/{validate_id(camera_id, 'camera_id')}/{_day(day)}/"
        f"{validate_id(batch_id, 'batch_id')}.parquet"
    )


def shadow_key(camera_id: str, day: date | datetime | str, batch_id: str) -> str:
    """``shadow/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet``: a batch of shadow comparisons."""
    return (
        f"{SHADOW_PREFIX}{validate_id(camera_id, 'camera_id')}/{_day(day)}/"
        f"{validate_id(batch_id, 'batch_id')}.parquet"
    )


def model_key(model_version: str, filename: str = "model.onnx") -> str:
    """``models/<model_version>/<filename>`` (model.onnx, model.pt, metadata.json)."""
    return f"models/{validate_id(model_version, 'model_version')}/{validate_id(filename, 'filename')}"


def agent_status_key(agent_id: str) -> str:
    """``agents/<agent_id>/status.json``: the agent's latest status (replaced at every heartbeat)."""
    return f"{AGENTS_PREFIX}{validate_id(agent_id, 'agent_id')}/{AGENT_STATUS_NAME}"


def parse_agent_status_key(key: str) -> str:
    """The agent_id of a status key; ContractError if ``key`` is not ``agents/<agent_id>/status.json``."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] + "/" != AGENTS_PREFIX or parts[2] != AGENT_STATUS_NAME:
        raise ContractError("key", f"{key!r} is not an agent status key (agents/<agent_id>/status.json)")
    return validate_id(parts[1], "agent_id")
