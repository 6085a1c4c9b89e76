"""The release manifest: ``releases/manifest.json``, what every camera should run.

An agent only swaps to a model whose sha256 matches the manifest; canary membership
is decided here, from the camera list or a stable hash of the camera id, so the
platform and every agent agree on who is in the canary without talking.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from maskops_contracts.classes import CLASS_NAMES
from maskops_contracts.errors import ContractError
from maskops_contracts.ids import validate_id

MANIFEST_SCHEMA_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def canary_bucket(camera_id: str) -> float:
    """A stable number in [0, 100) for a camera: the same on every machine and run."""
    digest = hashlib.sha256(camera_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100.0



def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 hex digest of a file's bytes, read in 1 MiB chunks: what a manifest's
    ``sha256`` names and what an agent checks before it swaps to a model."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

@dataclass(frozen=True)
class ModelRef:
    """A model the cameras can download: where it is and how to check it."""

    model_version: str
    uri: str
    sha256: str
    imgsz: int = 320
    class_names: tuple[str, ...] = CLASS_NAMES

    def __post_init__(self) -> None:
        validate_id(self.model_version, "model_version")
        as_str(self.uri, "uri")
        if not isinstance(self.sha256, str) or not _SHA256.match(self.sha256):
            raise ContractError("sha256", f"must be 64 lowercase hex digits, got {self.sha256!r}")
        as_int(self.imgsz, "imgsz", minimum=32)
        names = tuple(self.class_names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ContractError("class_names", f"must be a non-empty list of names, got {list(names)}")
        object.__setattr__(self, "class_names", names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "uri": self.uri,
            "sha256": self.sha256,
            "imgsz": self.imgsz,
            "class_names": list(self.class_names),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], prefix: str) -> ModelRef:
        try:
            names = data.get("class_names", list(CLASS_NAMES)) if isinstance(data, dict) else None
            if not isinstance(names, list):
                raise ContractError("class_names", f"must be a list, got {names!r}")
            return cls(
                model_version=require(data, "model_version"),
                uri=require(data, "uri"),
                sha256=require(data, "sha256"),
                imgsz=data.get("imgsz", 320),
                class_names=tuple(names),
            )
        except ContractError as err:
            raise err.within(prefix) from None


@dataclass(frozen=True)
class CanaryModel(ModelRef):
    """The candidate some cameras run first: listed ``cameras``, or ``percentage`` of all."""

    cameras: tuple[str, ...] = ()
    percentage: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        cams = tuple(validate_id(c, f"cameras[{i}]") for i, c in enumerate(self.cameras))
        object.__setattr__(self, "cameras", cams)
        if self.percentage is not None:
            object.__setattr__(self, "percentage", as_float(self.percentage, "percentage", lo=0.0, hi=100.0))
        if not cams and self.percentage is None:
            raise ContractError("cameras", "a canary needs a list of cameras or a percentage")

    def includes(self, camera_id: str) -> bool:
        if camera_id in self.cameras:
            return True
        return self.percentage is not None and canary_bucket(camera_id) < self.percentage

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["cameras"] = list(self.cameras)
        out["percentage"] = self.percentage
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], prefix: str = "canary") -> CanaryModel:
        base = ModelRef.from_dict(data, prefix)
        cams = data.get("cameras") or []
        if not isinstance(cams, list):
            raise ContractError(f"{prefix}.cameras", f"must be a list, got {cams!r}")
        try:
            return cls(**base.__dict__, cameras=tuple(cams), percentage=data.get("percentage"))
        except ContractError as err:
            raise err.within(prefix) from None


@dataclass(frozen=True)
class ReleaseManifest:
    """What every camera should run, and which release came before (for rollback)."""

    release_id: str
    champion: ModelRef
    canary: CanaryModel | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    previous_release_id: str | None = None
    schema_version: int = MANIFEST_SCHEMA_VERSION

    def __post_init__(self) -> None:
        validate_id(self.release_id, "release_id")
        if self.previous_release_id is not None:
            validate_id(self.previous_release_id, "previous_release_id")
        object.__setattr__(self, "created_at", as_utc(self.created_at, "created_at"))

    def model_for(self, camera_id: str) -> ModelRef:
        """The model ``camera_id`` should run under this release."""
        if self.canary is not None and self.canary.includes(camera_id):
            return self.canary
        return self.champion

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "release_id": self.release_id,
            "champion": self.champion.to_dict(),
            "canary": self.canary.to_dict() if self.canary else None,
            "created_at": iso_utc(self.created_at),
            "previous_release_id": self.previous_release_id,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> ReleaseManifest:
        try:
            version = check_schema_version(data, MANIFEST_SCHEMA_VERSION, "release manifest")
            canary_raw = data.get("canary")
            return cls(
                release_id=require(data, "release_id"),
                champion=ModelRef.from_dict(require(data, "champion"), "champion"),
                canary=CanaryModel.from_dict(canary_raw) if canary_raw else None,
                created_at=require(data, "created_at"),
                previous_release_id=data.get("previous_release_id"),
                schema_version=version,
            )
        except ContractError as err:
            raise tag_source(err, source) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str | None = None) -> ReleaseManifest:
        return cls.from_dict(load_json(text, source), source=source)
