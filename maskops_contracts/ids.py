"""Ids that become parts of object-store keys and file paths must be path-safe."""

import re

from maskops_contracts.errors import ContractError

_ALLOWED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$")


def validate_id(value: object, field: str) -> str:
    """Return ``value`` if it is a safe id, else raise ContractError naming ``field``.

    Rejected: non-strings, empty strings, ``..``, ``/`` or ``\\``, absolute paths,
    whitespace and control characters, and anything over 128 characters. Allowed are
    letters, digits and ``. _ : @ + = -`` (not leading), which covers hashes, hostnames
    and version strings such as ``v3`` or ``mask-2026.11.23``.
    """
    if not isinstance(value, str):
        raise ContractError(field, f"must be a string, got {type(value).__name__}")
    if not value:
        raise ContractError(field, "must not be empty")
    if ".." in value:
        raise ContractError(field, f"{value!r} must not contain '..'")
    if "/" in value or "\\" in value:
        raise ContractError(field, f"{value!r} must not contain '/' or '\\' (it becomes part of a key)")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ContractError(field, f"{value!r} must not contain whitespace or control characters")
    if not _ALLOWED.match(value):
        raise ContractError(
            field,
            f"{value!r} is not a valid id: use up to 128 letters, digits and . _ : @ + = - "
            "starting with a letter or digit",
        )
    return value
