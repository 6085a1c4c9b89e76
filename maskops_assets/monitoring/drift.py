"""Evidently's drift tests: the whole window in one report (with its HTML), each camera on its own.

The window as a whole goes through an Evidently ``Report`` with ``DataDriftPreset`` (one test per
feature, the share of drifted features, and the HTML a person reads). Each camera with enough rows
is tested with the same Evidently stat test and threshold, called directly: a full report per
camera would cost a second or more each in plot building that nobody looks at.

The default test is Kolmogorov-Smirnov (``ks``): its score is a p-value (a feature drifts when
p < ``stattest_threshold``, 0.05 by default), which is what the drift sensor reads. Any Evidently
stat test name works (e.g. ``wasserstein``, ``psi``); a distance's feature drifts when the score is
at or over the threshold, and ``FeatureDrift.stattest`` names the test so readers can tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from maskops_assets.monitoring.drift_summary import FeatureDrift


@dataclass(frozen=True)
class DriftTest:
    """How features are tested: Evidently stat test, its threshold, and the drift-share threshold."""

    stattest: str = "ks"
    stattest_threshold: float = 0.05
    share_threshold: float = 0.3

    def __post_init__(self) -> None:
        try:
            _numeric_stattest(self.stattest)
        except ValueError as err:
            raise ValueError(f"stattest {self.stattest!r} cannot test a numeric feature: {err}") from None
        if not 0 < self.share_threshold <= 1:
            raise ValueError(f"threshold (drift share) must be in (0, 1], got {self.share_threshold}")
        if self.stattest_threshold <= 0:
            raise ValueError(f"stattest_threshold must be above 0, got {self.stattest_threshold}")


@dataclass
class WindowDrift:
    """The window's drift: each feature's test, the drifted share, and Evidently's HTML."""

    features: list[FeatureDrift]
    drift_share: float
    html: str = ""
    left_out: list[str] = field(default_factory=list)


def _status(value) -> str:
    return str(getattr(value, "value", value))


def evidently_report(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str], test: DriftTest, *, html: bool = True
) -> WindowDrift:
    """Run Evidently's ``DataDriftPreset`` on ``features`` (numeric columns of both tables)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    if not features:
        raise ValueError("no feature to compare: every drift feature is empty in the window or the reference")
    definition = DataDefinition(numerical_columns=list(features))
    report = Report(
        [
            DataDriftPreset(
                columns=list(features),
                method=test.stattest,
                threshold=test.stattest_threshold,
                drift_share=test.share_threshold,
            )
        ],
        include_tests=True,
    )
    # a feature that is constant in the window (no detections at night, say) is a fair input;
    # Evidently's correlation plots divide by its zero spread, which numpy would warn about
    with np.errstate(invalid="ignore", divide="ignore"):
        snapshot = report.run(
            Dataset.from_pandas(current[list(features)], data_definition=definition),
            Dataset.from_pandas(reference[list(features)], data_definition=definition),
        )
    result = snapshot.dict()
    scores: dict[str, float] = {}
    share = None
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            scores[config["column"]] = float(metric["value"])
        elif config["type"].endswith(":DriftedColumnsCount"):
            share = float(metric["value"]["share"])
    drifted = {
        test_result["metric_config"]["params"]["column"]: _status(test_result["status"]) == "FAIL"
        for test_result in result["tests"]
        if test_result["metric_config"]["params"]["type"].endswith(":ValueDrift")
    }
    name = _display_name(test.stattest)
    rows = [FeatureDrift(f, scores[f], drifted[f], name) for f in features]
    if share is None:  # not expected: Evidently always reports the count; derive it the same way
        share = sum(r.drifted for r in rows) / len(rows)
    return WindowDrift(rows, share, snapshot.get_html_str(as_iframe=False) if html else "")


def _numeric_stattest(name: str):
    """Evidently's stat test ``name`` for numeric columns (ValueError when there is none)."""
    from evidently.legacy.calculations.stattests import get_stattest

    probe = pd.Series([0.0, 1.0])
    return get_stattest(probe, probe, "num", name)


def _display_name(stattest: str) -> str:
    """Evidently's name of the test, e.g. ``K-S p_value`` (says whether the score is a p-value)."""
    return _numeric_stattest(stattest).display_name


def feature_tests(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str], test: DriftTest
) -> list[FeatureDrift]:
    """Evidently's stat test on each feature, called directly (no report): for per-camera figures.

    A feature with no values on either side is left out."""
    from evidently.legacy.calculations.stattests import get_stattest

    results = []
    for feature in features:
        ref, cur = reference[feature].dropna(), current[feature].dropna()
        if ref.empty or cur.empty:
            continue
        stattest = get_stattest(ref, cur, "num", test.stattest)
        outcome = stattest(ref, cur, "num", test.stattest_threshold)
        results.append(
            FeatureDrift(feature, float(outcome.drift_score), bool(outcome.drifted), stattest.display_name)
        )
    return results


def share_of(features: list[FeatureDrift]) -> float:
    return sum(f.drifted for f in features) / len(features) if features else 0.0
