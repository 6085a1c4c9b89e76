"""The telemetry row: one per analysed frame, batched into parquet by the agent.

Key: ``telemetry/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet``. The drift report reads
these columns; keep names stable and add new ones at the end.

``schema_version`` changes only for a change an older reader would misread (a renamed or
retyped column): a reader refuses rows newer than it knows. A new column at the end that
may be absent is not such a change: a reader takes the columns it knows by name, so an
older one ignores it, and this one reads rows without it as "not recorded" (None).
``runtime`` and ``precision`` (how the detector ran the frame) came that way, in version 1.

``ShadowRow`` is the record of shadow mode (one per frame the shadow model was compared with the
camera's model on), a separate table under ``shadow/`` rather than columns here: most frames have
no shadow result, and a shadow result is ready only after the frame's own row was written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from maskops_contracts._fields import as_float, as_int, as_utc, check_schema_version, iso_utc
from maskops_contracts.classes import CLASS_NAMES
from maskops_contracts.errors import ContractError
from maskops_contracts.ids import validate_id
from maskops_contracts.manifest import PRECISIONS, RUNTIMES

TELEMETRY_SCHEMA_VERSION = 1

#: Frame-level features the drift report compares (numeric, one value per frame).
FRAME_FEATURES = (
    "brightness",
    "contrast",
    "blur",
    "mean_r",
    "mean_g",
    "mean_b",
    "saturation",
    "num_detections",
    "mean_confidence",
    "min_confidence",
)
CLASS_COUNT_COLUMNS = tuple(f"count_{name}" for name in CLASS_NAMES)
#: Columns added after version 1 was first written: rows without them still read (as None).
OPTIONAL_COLUMNS = ("runtime", "precision")
TELEMETRY_COLUMNS = (
    "schema_version",
    "camera_id",
    "ts",
    "model_version",
    *FRAME_FEATURES,
    *CLASS_COUNT_COLUMNS,
    "inference_ms",
    *OPTIONAL_COLUMNS,
)


@dataclass(frozen=True)
class TelemetryRow:
    """Statistics of one analysed frame.

    brightness: mean of the grey image, 0..255. contrast: its standard deviation.
    blur: variance of the Laplacian (low = blurry). mean_r/g/b and saturation: colour
    stats, 0..255. mean/min_confidence are 0 when nothing was detected.
    runtime and precision: how the detector ran the frame (``RUNTIMES``, ``PRECISIONS``); a
    drift in confidences can come from a box switching to bf16, not from the scene. None
    where no detector ran, and in rows written before these columns existed.
    """

    camera_id: str
    ts: datetime
    model_version: str
    brightness: float
    contrast: float
    blur: float
    mean_r: float
    mean_g: float
    mean_b: float
    saturation: float
    num_detections: int
    mean_confidence: float
    min_confidence: float
    class_counts: dict[str, int] = field(default_factory=dict)
    inference_ms: float = 0.0
    schema_version: int = TELEMETRY_SCHEMA_VERSION
    runtime: str | None = None
    precision: str | None = None

    def __post_init__(self) -> None:
        validate_id(self.camera_id, "camera_id")
        validate_id(self.model_version, "model_version")
        object.__setattr__(self, "ts", as_utc(self.ts, "ts"))
        for name in ("brightness", "contrast", "blur", "mean_r", "mean_g", "mean_b", "saturation"):
            as_float(getattr(self, name), name, lo=0.0)
        as_int(self.num_detections, "num_detections", minimum=0)
        as_float(self.mean_confidence, "mean_confidence", lo=0.0, hi=1.0)
        as_float(self.min_confidence, "min_confidence", lo=0.0, hi=1.0)
        as_float(self.inference_ms, "inference_ms", lo=0.0)
        for name, known in (("runtime", RUNTIMES), ("precision", PRECISIONS)):
            value = getattr(self, name)
            if value is not None and value not in known:
                raise ContractError(name, f"must be one of {', '.join(known)} or null, got {value!r}")
        for name, count in self.class_counts.items():
            if name not in CLASS_NAMES:
                raise ContractError(
                    "class_counts", f"unknown class {name!r}; known: {', '.join(CLASS_NAMES)}"
                )
            as_int(count, f"class_counts.{name}", minimum=0)
        # every class, absent ones as 0: a row equals itself after a round trip through a table
        object.__setattr__(self, "class_counts", {n: self.class_counts.get(n, 0) for n in CLASS_NAMES})

    def to_dict(self) -> dict[str, Any]:
        """A flat row with the columns of ``TELEMETRY_COLUMNS`` (ts as an ISO string)."""
        data = asdict(self)
        counts = data.pop("class_counts")
        data["ts"] = iso_utc(self.ts)
        for name in CLASS_NAMES:
            data[f"count_{name}"] = int(counts.get(name, 0))
        return {col: data[col] for col in TELEMETRY_COLUMNS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TelemetryRow:
        optional = ("schema_version", *OPTIONAL_COLUMNS)
        missing = [c for c in TELEMETRY_COLUMNS if c not in data and c not in optional]
        if missing:
            raise ContractError(missing[0], f"is required (missing columns: {', '.join(missing)})")
        version = check_schema_version(
            {"schema_version": data.get("schema_version", TELEMETRY_SCHEMA_VERSION)},
            TELEMETRY_SCHEMA_VERSION,
            "telemetry row",
        )
        counts = {name: as_int(data[f"count_{name}"], f"count_{name}", minimum=0) for name in CLASS_NAMES}
        kwargs = {k: data.get(k) for k in TELEMETRY_COLUMNS if k not in CLASS_COUNT_COLUMNS}
        kwargs["schema_version"] = version
        return cls(class_counts=counts, **kwargs)


# ---------------------------------------------------------------- shadow comparisons
SHADOW_SCHEMA_VERSION = 1
#: Matched boxes the champion called ``<class>`` that the shadow model called another class.
CLASS_MISMATCH_COLUMNS = tuple(f"class_mismatch_{name}" for name in CLASS_NAMES)
#: Box counts of one compared frame (integers >= 0).
SHADOW_COUNT_COLUMNS = (
    "champion_boxes",
    "shadow_boxes",
    "matched",
    "class_agreed",
    "champion_only",
    "shadow_only",
)
SHADOW_COLUMNS = (
    "schema_version",
    "camera_id",
    "ts",
    "model_version",
    "shadow_model_version",
    *SHADOW_COUNT_COLUMNS,
    "mean_confidence_delta",
    *CLASS_MISMATCH_COLUMNS,
    "dropped_before",
)


@dataclass(frozen=True)
class ShadowRow:
    """The champion and the shadow model compared on one frame (docs/shadow.md).

    A record of its own, batched under ``shadow/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet``
    (``keys.shadow_key``), so the telemetry rows and their readers stay as they were: a reader
    from before shadow mode never lists that prefix.

    model_version: what the camera runs (the champion, or its canary); shadow_model_version: the
    manifest's shadow. Boxes are matched greedily by confidence at IoU >= 0.5: ``matched`` pairs,
    ``class_agreed`` of them with the same class, ``champion_only`` / ``shadow_only`` boxes left
    over on each side. mean_confidence_delta: shadow minus champion confidence over matched pairs
    (0 without one). class_mismatches: per class the champion gave, matched boxes the shadow gave
    another class. dropped_before: shadow frames this camera dropped (its shadow worker was busy)
    since the previous compared frame.
    """

    camera_id: str
    ts: datetime
    model_version: str
    shadow_model_version: str
    champion_boxes: int
    shadow_boxes: int
    matched: int
    class_agreed: int
    champion_only: int
    shadow_only: int
    mean_confidence_delta: float = 0.0
    class_mismatches: dict[str, int] = field(default_factory=dict)
    dropped_before: int = 0
    schema_version: int = SHADOW_SCHEMA_VERSION

    def __post_init__(self) -> None:
        validate_id(self.camera_id, "camera_id")
        validate_id(self.model_version, "model_version")
        validate_id(self.shadow_model_version, "shadow_model_version")
        object.__setattr__(self, "ts", as_utc(self.ts, "ts"))
        for name in (*SHADOW_COUNT_COLUMNS, "dropped_before"):
            as_int(getattr(self, name), name, minimum=0)
        as_float(self.mean_confidence_delta, "mean_confidence_delta", lo=-1.0, hi=1.0)
        if self.matched > min(self.champion_boxes, self.shadow_boxes):
            raise ContractError(
                "matched", f"{self.matched} pairs out of {self.champion_boxes} and {self.shadow_boxes} boxes"
            )
        if self.class_agreed > self.matched:
            raise ContractError(
                "class_agreed", f"{self.class_agreed} is more than the {self.matched} matched"
            )
        if self.champion_only != self.champion_boxes - self.matched:
            raise ContractError("champion_only", "must be champion_boxes - matched")
        if self.shadow_only != self.shadow_boxes - self.matched:
            raise ContractError("shadow_only", "must be shadow_boxes - matched")
        for name, count in self.class_mismatches.items():
            if name not in CLASS_NAMES:
                raise ContractError(
                    "class_mismatches", f"unknown class {name!r}; known: {', '.join(CLASS_NAMES)}"
                )
            as_int(count, f"class_mismatches.{name}", minimum=0)
        mismatches = {n: self.class_mismatches.get(n, 0) for n in CLASS_NAMES}
        if sum(mismatches.values()) != self.matched - self.class_agreed:
            raise ContractError("class_mismatches", "must add up to matched - class_agreed")
        object.__setattr__(self, "class_mismatches", mismatches)

    @property
    def agreement(self) -> float:
        """Boxes both models found with the same class, over every box either found (1.0 on a
        frame where neither found anything)."""
        union = self.matched + self.champion_only + self.shadow_only
        return 1.0 if union == 0 else self.class_agreed / union

    def to_dict(self) -> dict[str, Any]:
        """A flat row with the columns of ``SHADOW_COLUMNS`` (ts as an ISO string)."""
        data = asdict(self)
        mismatches = data.pop("class_mismatches")
        data["ts"] = iso_utc(self.ts)
        for name in CLASS_NAMES:
            data[f"class_mismatch_{name}"] = int(mismatches[name])
        return {col: data[col] for col in SHADOW_COLUMNS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShadowRow:
        missing = [c for c in SHADOW_COLUMNS if c not in data and c != "schema_version"]
        if missing:
            raise ContractError(missing[0], f"is required (missing columns: {', '.join(missing)})")
        version = check_schema_version(
            {"schema_version": data.get("schema_version", SHADOW_SCHEMA_VERSION)},
            SHADOW_SCHEMA_VERSION,
            "shadow row",
        )
        mismatches = {
            name: as_int(data[f"class_mismatch_{name}"], f"class_mismatch_{name}", minimum=0)
            for name in CLASS_NAMES
        }
        kwargs = {k: data[k] for k in SHADOW_COLUMNS if k not in CLASS_MISMATCH_COLUMNS}
        kwargs["schema_version"] = version
        return cls(class_mismatches=mismatches, **kwargs)
