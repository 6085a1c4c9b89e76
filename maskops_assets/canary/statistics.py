"""Canary against control: split a telemetry window by the live manifest, test each signal, judge.

Canary frames are those of cameras the manifest puts in the canary (``CanaryModel.includes``, the
edge's own rule) that ran the canary model; control frames are those of the other cameras that ran
the champion. A canary camera that has not swapped yet is in neither group.

Each signal is compared with a test, not a raw difference, and only with enough values:
- confidence (per-frame mean, frames with detections): one-sided Mann-Whitney U (canary lower) and a
  drop of the means beyond ``confidence_drop``;
- low-tail confidence (per-frame minimum, frames with detections): one-sided Mann-Whitney U and a
  drop of the 10th percentiles beyond ``low_tail_drop``;
- detections per frame: one-sided Mann-Whitney U in the direction of the change, and a drop beyond
  ``detections_drop`` or a rise beyond ``detections_rise``, each relative to
  ``max(control mean, detections_floor)`` (a control that finds almost nothing cannot make any
  detection an infinite change; a rise gets far more room, since finding what the champion misses
  is the improvement a retraining is for);
- class mix: chi-square on the per-class counts and a total variation distance beyond
  ``class_mix_shift``, only with ``class_mix_min_detections`` detections in each group (below it
  there is no mix to compare: "not enough detections to compare", never a fault);
- inference latency: canary p99 over ``latency_ratio`` times the control's;
- errors: the canary cameras' frame errors per frame (agent status) over ``max_error_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from maskops_assets.canary.shadow_evidence import ShadowEvidence
from maskops_assets.canary.thresholds import CanaryThresholds
from maskops_contracts import ReleaseManifest
from maskops_contracts.telemetry import CLASS_COUNT_COLUMNS

TOO_FEW_FRAMES = "too_few_frames"
DEGRADED = "degraded"
SOAKING = "soaking"
HEALTHY = "healthy"
#: how the class-mix rule says it had too few detections to compare (never a fault)
NOT_ENOUGH_DETECTIONS = "not enough detections to compare"
#: status -> what the watch asks for
ACTIONS = {DEGRADED: "rollback", HEALTHY: "promote"}


@dataclass(frozen=True)
class ErrorCounts:
    """Frame errors and frames per group, from the agents' status objects (cumulative per agent run)."""

    canary_errors: int = 0
    canary_frames: int = 0
    control_errors: int = 0
    control_frames: int = 0
    agents: int = 0

    def rate(self, group: str) -> float | None:
        errors, frames = (
            (self.canary_errors, self.canary_frames)
            if group == "canary"
            else (self.control_errors, self.control_frames)
        )
        return errors / (frames + errors) if frames + errors else None


@dataclass(frozen=True)
class Comparison:
    """One signal, canary vs control: the figures, the test's p-value, and whether it degraded."""

    signal: str
    canary: float | None
    control: float | None
    p_value: float | None
    degraded: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "canary": _round(self.canary),
            "control": _round(self.control),
            "p_value": _round(self.p_value, 6),
            "degraded": self.degraded,
            "note": self.note,
        }


@dataclass(frozen=True)
class CanaryVerdict:
    """The watch's judgement of one canary release at one moment."""

    release_id: str
    canary_model: str
    champion_model: str
    status: str
    summary: str
    canary_frames: int
    control_frames: int
    since: datetime
    until: datetime
    soak_elapsed_s: float
    thresholds: CanaryThresholds
    comparisons: tuple[Comparison, ...] = ()
    error_counts: ErrorCounts = field(default_factory=ErrorCounts)
    #: what shadow mode measured of the canary's model; informational, never part of ``status``
    #: (None: not looked up)
    shadow: ShadowEvidence | None = None

    @property
    def action(self) -> str | None:
        """``rollback``, ``promote`` or None (keep watching)."""
        return ACTIONS.get(self.status)

    def metadata(self) -> dict[str, Any]:
        """Plain values for the verdict's materialization (numbers stay numbers, for the UI's plots)."""
        figures: dict[str, Any] = {}
        for c in self.comparisons:
            figures[f"{c.signal}_canary"] = _round(c.canary)
            figures[f"{c.signal}_control"] = _round(c.control)
            if c.p_value is not None:
                figures[f"{c.signal}_p_value"] = _round(c.p_value, 6)
        return {
            "release_id": self.release_id,
            "canary_model": self.canary_model,
            "champion_model": self.champion_model,
            "status": self.status,
            "action": self.action or "keep watching",
            "summary": self.summary,
            "canary_frames": self.canary_frames,
            "control_frames": self.control_frames,
            "window": f"{self.since.isoformat()} .. {self.until.isoformat()}",
            "soak_elapsed_minutes": round(self.soak_elapsed_s / 60.0, 1),
            "soak_required_minutes": self.thresholds.soak_minutes,
            **{k: v for k, v in figures.items() if v is not None},
            "comparisons": [c.to_dict() for c in self.comparisons],
            "thresholds": self.thresholds.to_dict(),
            **self._shadow_metadata(),
        }

    def _shadow_metadata(self) -> dict[str, Any]:
        if self.shadow is None:
            return {}
        out: dict[str, Any] = {
            "shadow_evidence": self.shadow.line(),
            "shadow_frames_compared": self.shadow.frames_compared,
            "shadow": self.shadow.to_dict(),
        }
        if self.shadow.agreement is not None:
            out["shadow_agreement"] = round(self.shadow.agreement, 4)
        return out


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def split_groups(rows: pd.DataFrame, manifest: ReleaseManifest) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(canary rows, control rows) of a telemetry window under ``manifest`` (which has a canary)."""
    canary = manifest.canary
    if canary is None:
        raise ValueError(f"release {manifest.release_id} has no canary to compare")
    if rows.empty:
        return rows, rows
    cameras = rows["camera_id"].astype(str)
    in_canary = cameras.map({c: canary.includes(c) for c in cameras.unique()}).astype(bool)
    versions = rows["model_version"].astype(str)
    on_canary = in_canary & (versions == canary.model_version)
    on_control = ~in_canary & (versions == manifest.champion.model_version)
    return rows[on_canary].reset_index(drop=True), rows[on_control].reset_index(drop=True)


def _values(frame: pd.DataFrame, column: str, detected_only: bool = False) -> np.ndarray:
    if frame.empty:
        return np.zeros(0)
    part = (
        frame[pd.to_numeric(frame["num_detections"], errors="coerce").fillna(0) > 0]
        if detected_only
        else frame
    )
    values = pd.to_numeric(part[column], errors="coerce").to_numpy(dtype=float)
    return values[np.isfinite(values)]


def _mann_whitney(canary: np.ndarray, control: np.ndarray, alternative: str) -> float:
    from scipy.stats import mannwhitneyu

    if np.unique(np.concatenate([canary, control])).size < 2:
        return 1.0  # every value the same: no evidence of any difference
    p = float(mannwhitneyu(canary, control, alternative=alternative).pvalue)
    return p if np.isfinite(p) else 1.0


def _too_few(signal: str, canary: np.ndarray, control: np.ndarray, need: int) -> Comparison | None:
    if min(canary.size, control.size) >= need:
        return None
    return Comparison(
        signal,
        float(np.mean(canary)) if canary.size else None,
        float(np.mean(control)) if control.size else None,
        None,
        False,
        f"not tested: {canary.size} canary / {control.size} control values, {need} needed per group",
    )


def _drop_test(
    signal: str, canary: np.ndarray, control: np.ndarray, t: CanaryThresholds, statistic, tolerance: float
) -> Comparison:
    if (skipped := _too_few(signal, canary, control, t.min_test_samples)) is not None:
        return skipped
    a, b = float(statistic(canary)), float(statistic(control))
    p = _mann_whitney(canary, control, "less")
    degraded = p < t.alpha and b - a > tolerance
    note = (
        f"drop {b - a:+.4f} (tolerance {tolerance:.4f}), Mann-Whitney U one-sided p={p:.3g} (alpha {t.alpha})"
    )
    return Comparison(signal, a, b, p, degraded, note)


def compare_confidence(canary: pd.DataFrame, control: pd.DataFrame, t: CanaryThresholds) -> list[Comparison]:
    mean = _drop_test(
        "mean_confidence",
        _values(canary, "mean_confidence", True),
        _values(control, "mean_confidence", True),
        t,
        np.mean,
        t.confidence_drop,
    )
    low = _drop_test(
        "low_tail_confidence",
        _values(canary, "min_confidence", True),
        _values(control, "min_confidence", True),
        t,
        lambda v: np.percentile(v, 10),
        t.low_tail_drop,
    )
    return [mean, low]


def compare_detections(canary: pd.DataFrame, control: pd.DataFrame, t: CanaryThresholds) -> Comparison:
    a, b = _values(canary, "num_detections"), _values(control, "num_detections")
    if (skipped := _too_few("detections_per_frame", a, b, t.min_test_samples)) is not None:
        return skipped
    mean_a, mean_b = float(a.mean()), float(b.mean())
    reference = t.detections_reference(mean_b)
    change = (mean_a - mean_b) / reference
    fewer = change < 0
    tolerance = t.detections_drop if fewer else t.detections_rise
    p = _mann_whitney(a, b, "less" if fewer else "greater")
    degraded = p < t.alpha and abs(change) > tolerance
    note = (
        f"{'drop' if fewer else 'rise'} {abs(change):.3f} of max(control mean, floor) = {reference:.3f} "
        f"(tolerance {tolerance:.3f}), Mann-Whitney U one-sided p={p:.3g} (alpha {t.alpha})"
    )
    return Comparison("detections_per_frame", mean_a, mean_b, p, degraded, note)


def compare_class_mix(canary: pd.DataFrame, control: pd.DataFrame, t: CanaryThresholds) -> Comparison:
    def counts(frame: pd.DataFrame) -> np.ndarray:
        if frame.empty:
            return np.zeros(len(CLASS_COUNT_COLUMNS))
        return np.array(
            [pd.to_numeric(frame[c], errors="coerce").fillna(0).sum() for c in CLASS_COUNT_COLUMNS]
        )

    a, b = counts(canary), counts(control)
    need = t.class_mix_min_detections
    if min(a.sum(), b.sum()) < need:
        return Comparison(
            "class_mix_tvd",
            None,
            None,
            None,
            False,
            f"{NOT_ENOUGH_DETECTIONS}: {int(a.sum())} canary / {int(b.sum())} control "
            f"detections, {need} needed per group",
        )
    tvd = 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())
    seen = (a + b) > 0
    p = 1.0
    if seen.sum() >= 2:
        from scipy.stats import chi2_contingency

        p = float(chi2_contingency(np.vstack([a[seen], b[seen]])).pvalue)
    degraded = p < t.alpha and tvd > t.class_mix_shift
    note = f"total variation distance {tvd:.3f} (tolerance {t.class_mix_shift:.3f}), chi-square p={p:.3g}"
    # canary: the distance itself; control: 0 (the reference)
    return Comparison("class_mix_tvd", tvd, 0.0, p, degraded, note)


def compare_latency(canary: pd.DataFrame, control: pd.DataFrame, t: CanaryThresholds) -> Comparison:
    a, b = _values(canary, "inference_ms"), _values(control, "inference_ms")
    if (skipped := _too_few("latency_p99_ms", a, b, t.min_test_samples)) is not None:
        return skipped
    p99_a, p99_b = float(np.percentile(a, 99)), float(np.percentile(b, 99))
    ratio = p99_a / p99_b if p99_b > 0 else (np.inf if p99_a > 0 else 1.0)
    degraded = ratio > t.latency_ratio
    note = f"canary p99 / control p99 = {ratio:.2f} (limit {t.latency_ratio:.2f})"
    return Comparison("latency_p99_ms", p99_a, p99_b, None, degraded, note)


def compare_errors(errors: ErrorCounts, t: CanaryThresholds) -> Comparison:
    canary, control = errors.rate("canary"), errors.rate("control")
    if canary is None:
        return Comparison(
            "error_rate", None, control, None, False, "not recorded: no agent status names a canary camera"
        )
    degraded = canary > t.max_error_rate
    note = (
        f"{errors.canary_errors} frame errors in {errors.canary_frames + errors.canary_errors} canary frames "
        f"(limit {t.max_error_rate:.3f}), from {errors.agents} agent status objects"
    )
    return Comparison("error_rate", canary, control, None, degraded, note)


def judge(
    manifest: ReleaseManifest,
    rows: pd.DataFrame,
    *,
    since: datetime,
    until: datetime,
    thresholds: CanaryThresholds,
    errors: ErrorCounts | None = None,
) -> CanaryVerdict:
    """The verdict on ``manifest``'s canary from the telemetry ``rows`` of ``[since, until)``.

    Too few frames in either group: keep watching (no test is trusted yet). A degraded signal:
    roll back. Healthy and the canary has run for the soak period: promote. Else: soaking.
    """
    t = thresholds
    errors = errors or ErrorCounts()
    canary, control = split_groups(rows, manifest)
    elapsed = max(0.0, (until - manifest.created_at).total_seconds())
    common = {
        "release_id": manifest.release_id,
        "canary_model": manifest.canary.model_version,
        "champion_model": manifest.champion.model_version,
        "canary_frames": len(canary),
        "control_frames": len(control),
        "since": since,
        "until": until,
        "soak_elapsed_s": elapsed,
        "thresholds": t,
        "error_counts": errors,
    }
    if min(len(canary), len(control)) < t.min_frames:
        summary = (
            f"keep watching: {len(canary)} canary and {len(control)} control frames since "
            f"{since.isoformat(timespec='seconds')}, {t.min_frames} needed in each group"
        )
        return CanaryVerdict(status=TOO_FEW_FRAMES, summary=summary, **common)
    comparisons = (
        *compare_confidence(canary, control, t),
        compare_detections(canary, control, t),
        compare_class_mix(canary, control, t),
        compare_latency(canary, control, t),
        compare_errors(errors, t),
    )
    bad = [c for c in comparisons if c.degraded]
    if bad:
        status = DEGRADED
        summary = "degraded, roll back: " + "; ".join(f"{c.signal}: {c.note}" for c in bad)
    elif elapsed >= t.soak.total_seconds():
        status = HEALTHY
        summary = (
            f"healthy for {elapsed / 60:.0f} min (soak {t.soak_minutes:g} min) over "
            f"{len(canary)} canary / {len(control)} control frames: promote"
        )
    else:
        status = SOAKING
        summary = (
            f"healthy so far; soaking {elapsed / 60:.0f} of {t.soak_minutes:g} min "
            f"({len(canary)} canary / {len(control)} control frames)"
        )
    if status != DEGRADED:
        summary += "".join(
            f"; {c.signal}: {c.note}" for c in comparisons if c.note.startswith(NOT_ENOUGH_DETECTIONS)
        )
    return CanaryVerdict(status=status, summary=summary, comparisons=comparisons, **common)
