"""The release manifest: ``releases/manifest.json``, what every camera should run.

An agent only swaps to a model whose sha256 matches the manifest; canary membership
is decided here, from the camera list or a stable hash of the camera id, so the
platform and every agent agree on who is in the canary without talking.

A model also lists its ``variants``: each precision the release gate measured it at, on
which runtime, with the scores it got. A camera runs only a precision the gate measured
(``ModelRef.measured_precisions``): bfloat16, for one, is much faster on CPUs with AMX but
not the same arithmetic as the float32 the model was trained and judged in.

An ``int8`` variant runs its own file, the quantized ``model_int8.zip`` beside ``model.onnx``,
named by its own ``uri`` and ``sha256`` (``ModelRef.variant`` finds it); fp32 and bf16 run the
model file itself.

Compatibility: readers take the keys they know and ignore the others, so a manifest with
``variants`` parses with a reader from before them (which runs fp32), and a manifest
without them means what it always meant: the gate measured fp32 (see
``measured_precisions``). The same holds for ``shadow`` (a candidate some cameras run beside
their model on a share of frames, only to compare; docs/shadow.md): a reader from before it
ignores the key and its cameras simply run no shadow, and a manifest without it has no shadow.
``MANIFEST_SCHEMA_VERSION`` therefore stays 1; raise it only for a change an older reader would
misread.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

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

#: Numeric precisions a model variant can be measured at.
PRECISIONS = ("fp32", "bf16", "int8")
#: The runtimes the edge agent runs models on (and the gate measures them with).
RUNTIMES = ("openvino", "onnxruntime")
#: Precisions that run the released ONNX file itself, as the runtime's inference setting
#: (int8 is a separate, quantized file).
SAME_FILE_PRECISIONS = ("fp32", "bf16")
#: What a model without ``variants`` was measured at: the gate before variants measured fp32.
LEGACY_PRECISIONS = ("fp32",)


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


def _check_sha256(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _SHA256.match(value):
        raise ContractError(field, f"must be 64 lowercase hex digits, got {value!r}")
    return value


def _check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ContractError(field, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class ModelVariant:
    """One way the release gate ran a model, and what it scored that way.

    precision: the arithmetic (fp32, bf16 or int8). runtime: the runtime the gate measured it
    with (openvino or onnxruntime); a measurement on one runtime says nothing about another's
    reduced-precision kernels. uri and sha256: the model file the variant runs (fp32 and bf16
    both run the released model.onnx, bf16 being a runtime setting; int8 is its own file).
    map50 and map50_95: measured on the frozen test split through the edge pipeline (None
    where not measured).
    """

    precision: str
    runtime: str
    uri: str
    sha256: str
    map50: float | None = None
    map50_95: float | None = None

    def __post_init__(self) -> None:
        _check_choice(self.precision, "precision", PRECISIONS)
        _check_choice(self.runtime, "runtime", RUNTIMES)
        as_str(self.uri, "uri")
        _check_sha256(self.sha256, "sha256")
        for name in ("map50", "map50_95"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_float(value, name, lo=0.0, hi=1.0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "runtime": self.runtime,
            "uri": self.uri,
            "sha256": self.sha256,
            "map50": self.map50,
            "map50_95": self.map50_95,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], prefix: str = "") -> ModelVariant:
        if not isinstance(data, dict):
            raise ContractError(prefix or "<root>", f"must be an object, got {type(data).__name__}")
        try:
            return cls(
                precision=require(data, "precision"),
                runtime=require(data, "runtime"),
                uri=require(data, "uri"),
                sha256=require(data, "sha256"),
                map50=data.get("map50"),
                map50_95=data.get("map50_95"),
            )
        except ContractError as err:
            raise err.within(prefix) from None


@dataclass(frozen=True)
class ModelRef:
    """A model the cameras can download: where it is and how to check it.

    variants: the precisions the release gate measured the model at, per runtime (see
    ``measured_precisions``); empty in manifests written before variants existed.
    """

    model_version: str
    uri: str
    sha256: str
    imgsz: int = 320
    class_names: tuple[str, ...] = CLASS_NAMES
    variants: tuple[ModelVariant, ...] = ()

    def __post_init__(self) -> None:
        validate_id(self.model_version, "model_version")
        as_str(self.uri, "uri")
        _check_sha256(self.sha256, "sha256")
        as_int(self.imgsz, "imgsz", minimum=32)
        names = tuple(self.class_names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ContractError("class_names", f"must be a non-empty list of names, got {list(names)}")
        object.__setattr__(self, "class_names", names)
        variants = tuple(self.variants)
        seen: set[tuple[str, str]] = set()
        digests = {self.uri: self.sha256}
        for i, variant in enumerate(variants):
            if not isinstance(variant, ModelVariant):
                raise ContractError(f"variants[{i}]", f"must be a ModelVariant, got {type(variant).__name__}")
            key = (variant.precision, variant.runtime)
            if key in seen:
                raise ContractError(
                    f"variants[{i}]", f"{variant.precision} on {variant.runtime} is listed twice"
                )
            seen.add(key)
            # A measurement of another file says nothing about the one cameras download.
            if variant.precision in SAME_FILE_PRECISIONS and variant.sha256 != self.sha256:
                raise ContractError(
                    f"variants[{i}].sha256",
                    f"a {variant.precision} variant runs the model file itself, so its sha256 must be "
                    f"the model's {self.sha256}, got {variant.sha256}",
                )
            # a quantized model is another file: naming the model file would run fp32 as "int8"
            if variant.precision not in SAME_FILE_PRECISIONS and (
                variant.uri == self.uri or variant.sha256 == self.sha256
            ):
                raise ContractError(
                    f"variants[{i}].uri",
                    f"a {variant.precision} variant runs its own quantized file, not the model file "
                    f"{self.uri}; give that file's uri and sha256",
                )
            # one file has one digest, whichever variants name it
            if digests.setdefault(variant.uri, variant.sha256) != variant.sha256:
                raise ContractError(
                    f"variants[{i}].sha256",
                    f"{variant.uri} is named with two digests, {digests[variant.uri]} and {variant.sha256}",
                )
        object.__setattr__(self, "variants", variants)

    def measured_precisions(self, runtime: str) -> tuple[str, ...]:
        """The precisions the release gate measured this model at on ``runtime``, as listed.

        A model without variants (a manifest from before them) was measured at fp32 only, on
        whichever runtime: that is what the gate then ran. With variants, only those of
        ``runtime`` count, so the result may be empty (nothing measured on that runtime).
        """
        _check_choice(runtime, "runtime", RUNTIMES)
        if not self.variants:
            return LEGACY_PRECISIONS
        return tuple(dict.fromkeys(v.precision for v in self.variants if v.runtime == runtime))

    def variant(self, precision: str, runtime: str) -> ModelVariant | None:
        """The variant the gate measured at ``precision`` on ``runtime`` (its file: ``uri`` and
        ``sha256``), or None where it did not."""
        _check_choice(precision, "precision", PRECISIONS)
        _check_choice(runtime, "runtime", RUNTIMES)
        return next((v for v in self.variants if (v.precision, v.runtime) == (precision, runtime)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "uri": self.uri,
            "sha256": self.sha256,
            "imgsz": self.imgsz,
            "class_names": list(self.class_names),
            "variants": [v.to_dict() for v in self.variants],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], prefix: str) -> ModelRef:
        try:
            names = data.get("class_names", list(CLASS_NAMES)) if isinstance(data, dict) else None
            if not isinstance(names, list):
                raise ContractError("class_names", f"must be a list, got {names!r}")
            raw_variants = data.get("variants") or []
            if not isinstance(raw_variants, list):
                raise ContractError("variants", f"must be a list, got {raw_variants!r}")
            return cls(
                model_version=require(data, "model_version"),
                uri=require(data, "uri"),
                sha256=require(data, "sha256"),
                imgsz=data.get("imgsz", 320),
                class_names=tuple(names),
                variants=tuple(
                    ModelVariant.from_dict(v, f"variants[{i}]") for i, v in enumerate(raw_variants)
                ),
            )
        except ContractError as err:
            raise err.within(prefix) from None


@dataclass(frozen=True)
class CameraSelectedModel(ModelRef):
    """A model some cameras take up besides the champion: listed ``cameras``, or ``percentage`` of
    all (by ``canary_bucket``, the same stable hash on every machine). ``role`` names it in errors."""

    role: ClassVar[str] = "model"

    cameras: tuple[str, ...] = ()
    percentage: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        cams = tuple(validate_id(c, f"cameras[{i}]") for i, c in enumerate(self.cameras))
        object.__setattr__(self, "cameras", cams)
        if self.percentage is not None:
            object.__setattr__(self, "percentage", as_float(self.percentage, "percentage", lo=0.0, hi=100.0))
        if not cams and self.percentage is None:
            raise ContractError("cameras", f"a {self.role} needs a list of cameras or a percentage")

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
    def _fields_from_dict(cls, data: dict[str, Any]) -> dict[str, Any]:
        """The fields of this kind beyond a ``ModelRef``'s, read from ``data``."""
        cams = data.get("cameras") or []
        if not isinstance(cams, list):
            raise ContractError("cameras", f"must be a list, got {cams!r}")
        return {"cameras": tuple(cams), "percentage": data.get("percentage")}

    @classmethod
    def from_dict(cls, data: dict[str, Any], prefix: str | None = None) -> CameraSelectedModel:
        prefix = cls.role if prefix is None else prefix
        base = ModelRef.from_dict(data, prefix)
        try:
            return cls(**base.__dict__, **cls._fields_from_dict(data))
        except ContractError as err:
            raise err.within(prefix) from None


@dataclass(frozen=True)
class CanaryModel(CameraSelectedModel):
    """The candidate some cameras run first: listed ``cameras``, or ``percentage`` of all."""

    role: ClassVar[str] = "canary"


#: The share of a shadow camera's analysed frames the shadow model also runs on, by default.
DEFAULT_SHADOW_FRAME_SHARE = 0.10


@dataclass(frozen=True)
class ShadowModel(CameraSelectedModel):
    """A candidate some cameras run beside their model on ``frame_share`` of their analysed frames,
    off the hot path, only to compare the two: its boxes never change what a camera reports or
    keeps (docs/shadow.md). Cameras: listed ``cameras``, or ``percentage`` of all, as a canary."""

    role: ClassVar[str] = "shadow"

    frame_share: float = DEFAULT_SHADOW_FRAME_SHARE

    def __post_init__(self) -> None:
        super().__post_init__()
        share = as_float(self.frame_share, "frame_share", lo=0.0, hi=1.0)
        if share <= 0.0:
            raise ContractError("frame_share", f"must be > 0 (a shadow that runs on no frame), got {share}")
        object.__setattr__(self, "frame_share", share)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["frame_share"] = self.frame_share
        return out

    @classmethod
    def _fields_from_dict(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            **super()._fields_from_dict(data),
            "frame_share": data.get("frame_share", DEFAULT_SHADOW_FRAME_SHARE),
        }


@dataclass(frozen=True)
class ReleaseManifest:
    """What every camera should run, and which release came before (for rollback)."""

    release_id: str
    champion: ModelRef
    canary: CanaryModel | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    previous_release_id: str | None = None
    schema_version: int = MANIFEST_SCHEMA_VERSION
    shadow: ShadowModel | None = None

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

    def shadow_for(self, camera_id: str) -> ShadowModel | None:
        """The shadow model ``camera_id`` runs beside its model under this release, or None."""
        if self.shadow is not None and self.shadow.includes(camera_id):
            return self.shadow
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "release_id": self.release_id,
            "champion": self.champion.to_dict(),
            "canary": self.canary.to_dict() if self.canary else None,
            "created_at": iso_utc(self.created_at),
            "previous_release_id": self.previous_release_id,
            "shadow": self.shadow.to_dict() if self.shadow else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> ReleaseManifest:
        try:
            version = check_schema_version(data, MANIFEST_SCHEMA_VERSION, "release manifest")
            canary_raw = data.get("canary")
            shadow_raw = data.get("shadow")
            return cls(
                release_id=require(data, "release_id"),
                champion=ModelRef.from_dict(require(data, "champion"), "champion"),
                canary=CanaryModel.from_dict(canary_raw) if canary_raw else None,
                created_at=require(data, "created_at"),
                previous_release_id=data.get("previous_release_id"),
                schema_version=version,
                shadow=ShadowModel.from_dict(shadow_raw) if shadow_raw else None,
            )
        except ContractError as err:
            raise tag_source(err, source) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str | None = None) -> ReleaseManifest:
        return cls.from_dict(load_json(text, source), source=source)
