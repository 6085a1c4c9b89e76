"""Whether the latest drift report calls for a retraining, and what a person should read about it.

Drift fires when the report's drift share is at or over the policy's threshold, or when a key
feature's test gives a p-value under the policy's limit. A feature's ``score`` is a p-value only
for Evidently's hypothesis tests (K-S, chi-square, ...); a distance (Wasserstein, PSI, ...) is
never read as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from maskops_assets.monitoring.drift_summary import DriftSummary
from maskops_assets.triggers.policy import RetrainPolicy

#: Evidently stattest names whose score is a p-value (the others are distances).
P_VALUE_TESTS = frozenset(
    {
        "ks",
        "chisquare",
        "z",
        "t_test",
        "mannw",
        "anderson",
        "cramer_von_mises",
        "es",
        "g_test",
        "fisher_exact",
        "empirical_mmd",
    }
)


def is_p_value(stattest: str) -> bool:
    name = stattest.strip().lower()
    return name in P_VALUE_TESTS or "p_value" in name or "p-value" in name


@dataclass(frozen=True)
class DriftVerdict:
    """The policy's reading of one drift report."""

    report_id: str
    drifted: bool
    drift_share: float
    threshold: float
    #: key features whose p-value is under the limit: name -> p-value
    key_features: dict[str, float]
    drifted_cameras: tuple[str, ...]

    def describe(self) -> str:
        parts = [f"drift share {self.drift_share:.2f} (threshold {self.threshold:.2f})"]
        if self.key_features:
            shown = ", ".join(f"{name} p={p:.3g}" for name, p in sorted(self.key_features.items()))
            parts.append(f"key features under the p-value limit: {shown}")
        cameras = ", ".join(self.drifted_cameras) if self.drifted_cameras else "none singled out"
        parts.append(f"drifted cameras: {cameras}")
        return f"report {self.report_id}: " + "; ".join(parts)


def judge_drift(summary: DriftSummary, policy: RetrainPolicy) -> DriftVerdict:
    key = {
        f.name: f.score
        for f in summary.features
        if f.name in policy.key_features and is_p_value(f.stattest) and f.score < policy.key_feature_p_value
    }
    over = summary.drift_share >= policy.drift_threshold
    return DriftVerdict(
        report_id=summary.report_id,
        drifted=over or bool(key),
        drift_share=summary.drift_share,
        threshold=policy.drift_threshold,
        key_features=key,
        drifted_cameras=tuple(summary.drifted_cameras),
    )
