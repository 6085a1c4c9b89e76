"""When the retraining triggers fire: thresholds, the cool-down and the drift rule, as one value.

Every setting has a default and an environment variable, read when a sensor ticks (not when the
code location loads), so changing one needs no redeploy of code, only of the daemon's environment.
``RetrainPolicyResource`` (maskops_assets/resources.py) can pin any of them in code instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

#: Telemetry columns whose own test can fire the drift trigger (p-value under ``key_feature_p_value``).
DEFAULT_KEY_FEATURES = ("brightness", "contrast", "blur", "mean_confidence")


class RetrainPolicyError(ValueError):
    """A retraining setting is not usable; the message names the setting and where it came from."""


@dataclass(frozen=True)
class RetrainPolicy:
    """Thresholds of the retraining triggers (see docs/triggers.md)."""

    #: reviewed images, new since the champion's dataset version, that launch a retraining (0: off)
    label_threshold: int = 50
    #: drift share (0..1) at or over which the drift trigger fires (over 1: off)
    drift_threshold: float = 0.3
    #: a key feature whose test p-value is under this fires the drift trigger (0: off)
    key_feature_p_value: float = 0.05
    key_features: tuple[str, ...] = DEFAULT_KEY_FEATURES
    #: new reviewed images needed before drift may launch a retraining
    min_labels_on_drift: int = 10
    #: seconds after a retraining run ends before a trigger may request another
    cooldown_s: float = 3600.0
    #: new samples since the last model that the weekly schedule needs to launch a retraining
    weekly_min_samples: int = 100

    def __post_init__(self) -> None:
        checks = {
            "label_threshold": self.label_threshold >= 0,
            "drift_threshold": self.drift_threshold >= 0,
            "key_feature_p_value": 0 <= self.key_feature_p_value <= 1,
            "min_labels_on_drift": self.min_labels_on_drift >= 0,
            "cooldown_s": self.cooldown_s >= 0,
            "weekly_min_samples": self.weekly_min_samples >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise RetrainPolicyError(f"retrain policy {name}={getattr(self, name)!r} is out of range")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **pinned: object) -> RetrainPolicy:
        """The policy from ``pinned`` values (not None), else ``environ`` (``POLICY_ENV``), else defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            if pinned.get(f.name) is not None:
                values[f.name] = _parse(f.name, pinned[f.name], f"the resource setting {f.name}")
            elif environ.get(POLICY_ENV[f.name], "").strip():
                var = POLICY_ENV[f.name]
                values[f.name] = _parse(f.name, environ[var], f"${var}")
        return cls(**values)  # type: ignore[arg-type]


#: setting -> environment variable
POLICY_ENV = {
    "label_threshold": "MASKOPS_LABEL_THRESHOLD",
    "drift_threshold": "MASKOPS_DRIFT_THRESHOLD",
    "key_feature_p_value": "MASKOPS_DRIFT_KEY_FEATURE_P",
    "key_features": "MASKOPS_DRIFT_KEY_FEATURES",
    "min_labels_on_drift": "MASKOPS_MIN_LABELS_ON_DRIFT",
    "cooldown_s": "MASKOPS_RETRAIN_COOLDOWN_S",
    "weekly_min_samples": "MASKOPS_WEEKLY_MIN_SAMPLES",
}

_INTS = {"label_threshold", "min_labels_on_drift", "weekly_min_samples"}


def _parse(name: str, raw: object, where: str) -> object:
    if name == "key_features":
        if isinstance(raw, str):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return tuple(str(part) for part in raw)  # type: ignore[union-attr]
    try:
        return int(str(raw).strip()) if name in _INTS else float(str(raw).strip())
    except ValueError:
        kind = "a whole number" if name in _INTS else "a number"
        raise RetrainPolicyError(
            f"{where} must be {kind} for the retrain policy's {name}, got {raw!r}"
        ) from None
