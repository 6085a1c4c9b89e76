"""How the canary watch judges: sample minimum, soak period, tolerances, each from the environment.

Every setting has a variable (``ENV``) read when the watch runs; unset ones take the defaults here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import ClassVar


class ThresholdError(ValueError):
    """A canary setting is not valid; the message names the variable."""


@dataclass(frozen=True)
class CanaryThresholds:
    """min_frames: frames per group (canary, control) before any verdict. soak_minutes: how long a
    canary must have run, healthy, before it is promoted. window_minutes: the most recent telemetry
    compared. min_test_samples: values per group for one test to count. alpha: significance of
    the tests. confidence_drop / low_tail_drop: absolute drops of mean / 10th-percentile minimum
    confidence that count as degraded (with p < alpha). detections_drop / detections_rise: how far
    the canary's detections per frame may fall below / rise above the control's, relative to
    max(control mean, detections_floor) (the floor keeps a control that finds almost nothing, such as
    an old model on a new domain, from turning any detection into an infinite change; a rise is
    allowed far more room than a drop, since finding what the champion misses is what a retraining
    is for). class_mix_shift: total variation distance of the class mix. class_mix_min_detections:
    detections per group (summed over the window) before the class mix is compared at all (a
    control that finds almost nothing has no mix to compare: "not enough detections to compare",
    not a fault). latency_ratio: canary p99 over control p99. max_error_rate: canary frame errors per
    frame. shadow_hours: how far before the canary's release the watch looks for shadow comparisons
    of the canary model, shown with each verdict as evidence that judges nothing (0: none read)."""

    min_frames: int = 200
    soak_minutes: float = 60.0
    window_minutes: float = 60.0
    min_test_samples: int = 30
    alpha: float = 0.05
    confidence_drop: float = 0.05
    low_tail_drop: float = 0.10
    detections_drop: float = 0.5
    detections_rise: float = 10.0
    detections_floor: float = 1.0
    class_mix_shift: float = 0.2
    class_mix_min_detections: int = 100
    latency_ratio: float = 2.0
    max_error_rate: float = 0.05
    shadow_hours: float = 24.0

    ENV: ClassVar[dict[str, str]] = {
        "min_frames": "MASKOPS_CANARY_MIN_FRAMES",
        "soak_minutes": "MASKOPS_CANARY_SOAK_MINUTES",
        "window_minutes": "MASKOPS_CANARY_WINDOW_MINUTES",
        "min_test_samples": "MASKOPS_CANARY_MIN_TEST_SAMPLES",
        "alpha": "MASKOPS_CANARY_ALPHA",
        "confidence_drop": "MASKOPS_CANARY_CONFIDENCE_DROP",
        "low_tail_drop": "MASKOPS_CANARY_LOW_TAIL_DROP",
        "detections_drop": "MASKOPS_CANARY_DETECTIONS_DROP",
        "detections_rise": "MASKOPS_CANARY_DETECTIONS_RISE",
        "detections_floor": "MASKOPS_CANARY_DETECTIONS_FLOOR",
        "class_mix_shift": "MASKOPS_CANARY_CLASS_MIX_SHIFT",
        "class_mix_min_detections": "MASKOPS_CANARY_CLASS_MIX_MIN_DETECTIONS",
        "latency_ratio": "MASKOPS_CANARY_LATENCY_RATIO",
        "max_error_rate": "MASKOPS_CANARY_MAX_ERROR_RATE",
        "shadow_hours": "MASKOPS_CANARY_SHADOW_HOURS",
    }
    #: variables that no longer exist -> what replaced them (setting one is an error, not a no-op)
    RETIRED_ENV: ClassVar[dict[str, str]] = {
        "MASKOPS_CANARY_DETECTIONS_CHANGE": (
            "MASKOPS_CANARY_DETECTIONS_DROP and MASKOPS_CANARY_DETECTIONS_RISE "
            "(relative to max(control mean, MASKOPS_CANARY_DETECTIONS_FLOOR))"
        ),
    }

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not value >= 0:  # NaN too
                raise ThresholdError(
                    f"canary setting {f.name} ({self.ENV[f.name]}) must be >= 0, got {value!r}"
                )
        if not 0 < self.alpha < 1:
            raise ThresholdError(
                f"canary setting alpha ({self.ENV['alpha']}) must be in (0, 1), got {self.alpha}"
            )
        if self.detections_floor <= 0:
            raise ThresholdError(
                f"canary setting detections_floor ({self.ENV['detections_floor']}) must be > 0, "
                f"got {self.detections_floor}"
            )
        if self.shadow_hours == float("inf"):
            raise ThresholdError(
                f"canary setting shadow_hours ({self.ENV['shadow_hours']}) must be a finite number of hours"
            )
        for name in ("min_frames", "min_test_samples", "class_mix_min_detections"):
            if getattr(self, name) < 1:
                raise ThresholdError(
                    f"canary setting {name} ({self.ENV[name]}) must be at least 1, got {getattr(self, name)}"
                )

    @property
    def soak(self) -> timedelta:
        return timedelta(minutes=self.soak_minutes)

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @property
    def shadow_lookback(self) -> timedelta:
        return timedelta(hours=self.shadow_hours)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CanaryThresholds:
        environ = os.environ if environ is None else environ
        for retired, replacement in cls.RETIRED_ENV.items():
            if environ.get(retired):
                raise ThresholdError(f"${retired} is no longer read: use {replacement}")
        values: dict[str, float | int] = {}
        for f in fields(cls):
            raw = environ.get(cls.ENV[f.name])
            if not raw:
                continue
            kind = int if f.type in ("int", int) else float
            try:
                values[f.name] = kind(raw)
            except ValueError:
                what = "an integer" if kind is int else "a number"
                raise ThresholdError(
                    f"${cls.ENV[f.name]} (canary {f.name}) must be {what}, got {raw!r}"
                ) from None
        return cls(**values)

    def detections_reference(self, control_mean: float) -> float:
        """What a change of detections per frame is measured against: the control's mean, floored."""
        return max(control_mean, self.detections_floor)

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
