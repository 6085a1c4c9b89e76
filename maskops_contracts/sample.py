"""The sample record: the ``.json`` written beside every kept frame.

Key: ``samples/<camera_id>/<YYYY-MM-DD>/<sample_id>.json`` (see ``keys``).
"""

from __future__ import annotations

import hashlib
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
from maskops_contracts.classes import CLASS_NAMES
from maskops_contracts.errors import ContractError
from maskops_contracts.ids import validate_id

SAMPLE_SCHEMA_VERSION = 1
SAMPLING_RULES = (
    "uncertainty_band",
    "least_confidence",
    "margin",
    "entropy",
    "random",
    "motion_no_detection",
    "manual",
    "shadow_disagreement",
)


def content_sample_id(image_bytes: bytes) -> str:
    """The sample id of an encoded image: the first 24 hex digits of its SHA-256.

    Derived from content so that a retried upload writes the same key again.
    """
    return hashlib.sha256(image_bytes).hexdigest()[:24]


@dataclass(frozen=True)
class Detection:
    """One box the model kept.

    box: (x1, y1, x2, y2) in pixels of the original frame, x1 < x2, y1 < y2.
    class_probs: the full probability vector, one entry per class in ``CLASS_NAMES``
    order; margin and entropy sampling are computed from it.
    """

    box: tuple[float, float, float, float]
    class_name: str
    confidence: float
    class_probs: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.box) != 4:
            raise ContractError("box", f"must be [x1, y1, x2, y2], got {list(self.box)}")
        x1, y1, x2, y2 = (as_float(v, f"box[{i}]") for i, v in enumerate(self.box))
        if not (x2 > x1 and y2 > y1):
            raise ContractError("box", f"must have x2 > x1 and y2 > y1, got {[x1, y1, x2, y2]}")
        object.__setattr__(self, "box", (x1, y1, x2, y2))
        if self.class_name not in CLASS_NAMES:
            raise ContractError(
                "class", f"unknown class {self.class_name!r}; known: {', '.join(CLASS_NAMES)}"
            )
        object.__setattr__(self, "confidence", as_float(self.confidence, "confidence", lo=0.0, hi=1.0))
        probs = tuple(
            as_float(p, f"class_probs[{i}]", lo=0.0, hi=1.0) for i, p in enumerate(self.class_probs)
        )
        if len(probs) != len(CLASS_NAMES):
            raise ContractError(
                "class_probs", f"must have {len(CLASS_NAMES)} entries (one per class), got {len(probs)}"
            )
        object.__setattr__(self, "class_probs", probs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [round(v, 2) for v in self.box],
            "class": self.class_name,
            "confidence": round(self.confidence, 6),
            "class_probs": [round(p, 6) for p in self.class_probs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Detection:
        box = require(data, "box")
        if not isinstance(box, list | tuple):
            raise ContractError("box", f"must be a list [x1, y1, x2, y2], got {box!r}")
        probs = require(data, "class_probs")
        if not isinstance(probs, list | tuple):
            raise ContractError("class_probs", f"must be a list, got {probs!r}")
        return cls(
            box=tuple(box),  # type: ignore[arg-type]
            class_name=as_str(require(data, "class"), "class"),
            confidence=require(data, "confidence"),
            class_probs=tuple(probs),
        )


@dataclass(frozen=True)
class SamplingReason:
    """Which sampling rule kept a frame, and the score that rule gave it."""

    rule: str
    score: float

    def __post_init__(self) -> None:
        if self.rule not in SAMPLING_RULES:
            raise ContractError(
                "reason.rule", f"unknown rule {self.rule!r}; known: {', '.join(SAMPLING_RULES)}"
            )
        object.__setattr__(self, "score", as_float(self.score, "reason.score"))

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "score": round(self.score, 6)}


@dataclass(frozen=True)
class SampleRecord:
    """Everything known about one kept frame; ``detections`` are the model's boxes."""

    camera_id: str
    sample_id: str
    captured_at: datetime
    source: str
    frame_index: int
    model_version: str
    reason: SamplingReason
    width: int
    height: int
    detections: tuple[Detection, ...] = field(default_factory=tuple)
    schema_version: int = SAMPLE_SCHEMA_VERSION

    def __post_init__(self) -> None:
        validate_id(self.camera_id, "camera_id")
        validate_id(self.sample_id, "sample_id")
        validate_id(self.model_version, "model_version")
        object.__setattr__(self, "captured_at", as_utc(self.captured_at, "captured_at"))
        as_str(self.source, "source")
        as_int(self.frame_index, "frame_index", minimum=0)
        as_int(self.width, "width", minimum=1)
        as_int(self.height, "height", minimum=1)
        if not isinstance(self.reason, SamplingReason):
            raise ContractError("reason", "must be a SamplingReason")
        object.__setattr__(self, "detections", tuple(self.detections))
        for i, det in enumerate(self.detections):
            x1, y1, x2, y2 = det.box
            # a little slack: letterbox rounding can put an edge a fraction past the frame
            if x1 < -1 or y1 < -1 or x2 > self.width + 1 or y2 > self.height + 1:
                raise ContractError(
                    f"detections[{i}].box",
                    f"{list(det.box)} lies outside the {self.width}x{self.height} image",
                )

    @property
    def date(self) -> str:
        """The UTC capture date, as used in the object-store key."""
        return self.captured_at.strftime("%Y-%m-%d")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "camera_id": self.camera_id,
            "sample_id": self.sample_id,
            "captured_at": iso_utc(self.captured_at),
            "source": self.source,
            "frame_index": self.frame_index,
            "model_version": self.model_version,
            "reason": self.reason.to_dict(),
            "width": self.width,
            "height": self.height,
            "detections": [d.to_dict() for d in self.detections],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> SampleRecord:
        """Build and validate a record; errors name the field (and ``source``, a file or key)."""
        try:
            version = check_schema_version(data, SAMPLE_SCHEMA_VERSION, "sample record")
            reason_raw = require(data, "reason")
            reason = SamplingReason(
                rule=as_str(require(reason_raw, "rule", "reason."), "reason.rule"),
                score=require(reason_raw, "score", "reason."),
            )
            raw_dets = require(data, "detections")
            if not isinstance(raw_dets, list):
                raise ContractError("detections", f"must be a list, got {type(raw_dets).__name__}")
            detections = []
            for i, raw in enumerate(raw_dets):
                try:
                    detections.append(Detection.from_dict(raw))
                except ContractError as err:
                    raise err.within(f"detections[{i}]") from None
            return cls(
                camera_id=require(data, "camera_id"),
                sample_id=require(data, "sample_id"),
                captured_at=require(data, "captured_at"),
                source=require(data, "source"),
                frame_index=require(data, "frame_index"),
                model_version=require(data, "model_version"),
                reason=reason,
                width=require(data, "width"),
                height=require(data, "height"),
                detections=tuple(detections),
                schema_version=version,
            )
        except ContractError as err:
            raise tag_source(err, source) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str | None = None) -> SampleRecord:
        return cls.from_dict(load_json(text, source), source=source)
