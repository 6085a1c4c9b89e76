"""The telemetry row: one per analysed frame, batched into parquet by the agent.

Key: ``telemetry/<camera_id>/<YYYY-MM-DD>/<batch_id>.parquet``. The drift report reads
these columns; keep names stable and add new ones at the end.

``schema_version`` changes only for a change an older reader would misread (a renamed or
retyped column): a reader refuses rows newer than it knows. A new column at the end that
may be absent is not such a change: a reader takes the columns it knows by name, so an
older one ignores it, and this one reads rows without it as "not recorded" (None).
``runtime`` and ``precision`` (how the detector ran the frame) came that way, in version 1.
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
