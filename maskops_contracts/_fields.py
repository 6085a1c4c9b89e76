"""Small typed readers for dict fields; each error names the field it is about."""

import json
import math
from datetime import UTC, datetime
from typing import Any

from maskops_contracts.errors import ContractError

_MISSING = object()


def require(data: dict[str, Any], key: str, prefix: str = "") -> Any:
    if not isinstance(data, dict):
        raise ContractError(prefix or "<root>", f"must be an object, got {type(data).__name__}")
    value = data.get(key, _MISSING)
    if value is _MISSING:
        raise ContractError(f"{prefix}{key}", "is required")
    return value


def as_str(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ContractError(field, f"must be a non-empty string, got {value!r}")
    return value


def as_int(value: Any, field: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContractError(field, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ContractError(field, f"must be >= {minimum}, got {value}")
    return value


def as_float(value: Any, field: str, *, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ContractError(field, f"must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ContractError(field, f"must be finite, got {value}")
    if lo is not None and value < lo:
        raise ContractError(field, f"must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ContractError(field, f"must be <= {hi}, got {value}")
    return value


def as_utc(value: Any, field: str) -> datetime:
    """Parse an ISO 8601 timestamp; naive timestamps are refused (a camera's clock zone is unknowable)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ContractError(field, f"must be an ISO 8601 timestamp, got {value!r}") from None
    else:
        raise ContractError(field, f"must be an ISO 8601 timestamp string, got {value!r}")
    if parsed.tzinfo is None:
        raise ContractError(field, f"{value!r} has no timezone; write UTC, e.g. 2026-11-23T12:00:00Z")
    return parsed.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def check_schema_version(data: dict[str, Any], supported: int, what: str) -> int:
    """Accept versions 1..supported; a newer one means the reader is too old to trust it."""
    version = as_int(require(data, "schema_version"), "schema_version", minimum=1)
    if version > supported:
        raise ContractError(
            "schema_version",
            f"{what} schema_version {version} is newer than this maskops understands ({supported}); "
            "upgrade maskops",
        )
    return version


def load_json(text: str | bytes, source: str | None) -> Any:
    """Parse JSON; a syntax error becomes a ContractError naming the source and line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ContractError(
            "<json>", f"not valid JSON ({err.msg} at line {err.lineno})", source=source
        ) from None


def tag_source(err: ContractError, source: str | None) -> ContractError:
    """``err`` tagged with the file or key it came from (unless it already names one)."""
    if source and not err.source:
        return ContractError(err.field, err.problem, source=source)
    return err
