"""What each retraining trigger decides on one tick: request a run (with tags) or skip (with why).

Plain functions over the object store, the Dagster instance and the policy; ``defs/triggers.py``
turns a ``Decision`` into a ``SensorResult`` / ``RunRequest``. The cursor a sensor keeps is only a
cache (label batch counts, the drift report already acted on); the label count itself is read from
the store on every tick, so a lost or old cursor never loses or double-counts a label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from maskops_assets.monitoring.drift_summary import read_latest
from maskops_assets.store import ObjectStore
from maskops_assets.triggers import tags as t
from maskops_assets.triggers.debounce import retrain_blocked
from maskops_assets.triggers.drift import DriftVerdict, judge_drift
from maskops_assets.triggers.history import DatasetHistory, last_model_time
from maskops_assets.triggers.label_batches import BatchCounts
from maskops_assets.triggers.new_labels import NewLabels, count_new_labels
from maskops_assets.triggers.new_samples import samples_since
from maskops_assets.triggers.policy import POLICY_ENV, RetrainPolicy

WAITING_FOR_LABELS = "drift detected, waiting for labels"
RETRAIN_REQUESTED = "drift detected, retraining requested"


@dataclass(frozen=True)
class Decision:
    """Request a run tagged ``tags``, or skip for ``skip_reason``; ``observation`` (metadata for
    the ``drift_report`` asset) is what a person should see; ``cursor`` is the sensor's next cursor."""

    tags: dict[str, str] | None = None
    skip_reason: str | None = None
    observation: dict[str, Any] | None = None
    cursor: dict[str, Any] = field(default_factory=dict)


def _cache(cursor: Mapping[str, Any]) -> dict[str, BatchCounts]:
    return {b: BatchCounts(*c) for b, c in cursor.get("batch_counts", {}).items()}


def _cache_cursor(new: NewLabels) -> dict[str, list[int]]:
    return {b: [c.images, c.boxes] for b, c in new.counts.items()}


def _label_figures(new: NewLabels) -> dict[str, object]:
    return {
        t.NEW_LABEL_IMAGES_TAG: new.images,
        t.NEW_LABEL_BATCHES_TAG: len(new.batches),
        t.LABEL_BASELINE_TAG: new.baseline.dataset_version or "none",
    }


def decide_on_labels(
    store: ObjectStore, instance: dg.DagsterInstance, policy: RetrainPolicy, cursor: Mapping[str, Any]
) -> Decision:
    """``label_threshold_sensor``: retrain once ``label_threshold`` new reviewed images are stored."""
    if policy.label_threshold <= 0:
        return Decision(skip_reason=f"label threshold trigger is off ({POLICY_ENV['label_threshold']}=0)")
    new = count_new_labels(store, DatasetHistory(instance), _cache(cursor))
    next_cursor = {"batch_counts": _cache_cursor(new)}
    if new.images < policy.label_threshold:
        return Decision(
            skip_reason=f"{new.describe()}; retraining needs {policy.label_threshold}", cursor=next_cursor
        )
    blocked = retrain_blocked(instance, policy.cooldown_s)
    if blocked:
        return Decision(skip_reason=f"{new.describe()}, but {blocked}", cursor=next_cursor)
    reason = f"{new.describe()} (threshold {policy.label_threshold})"
    return Decision(tags=t.trigger_tags(t.LABEL_THRESHOLD, reason, _label_figures(new)), cursor=next_cursor)


def _drift_metadata(
    verdict: DriftVerdict, new: NewLabels, policy: RetrainPolicy, status: str
) -> dict[str, Any]:
    return {
        "retrain_status": status,
        "drift_report_id": verdict.report_id,
        "drift_share": verdict.drift_share,
        "drift_threshold": verdict.threshold,
        "drifted_cameras": list(verdict.drifted_cameras),
        "key_features_under_p": dict(verdict.key_features),
        "new_label_images": new.images,
        "min_labels_on_drift": policy.min_labels_on_drift,
        "label_baseline": new.baseline.described,
    }


def decide_on_drift(
    store: ObjectStore, instance: dg.DagsterInstance, policy: RetrainPolicy, cursor: Mapping[str, Any]
) -> Decision:
    """``drift_sensor``: retrain on a drifted report when there are new labels to learn from."""
    summary = read_latest(store)
    if summary is None:
        return Decision(skip_reason="no drift report yet (drift_report has not run)", cursor=dict(cursor))
    verdict = judge_drift(summary, policy)
    if not verdict.drifted:
        return Decision(skip_reason=f"no drift: {verdict.describe()}", cursor=dict(cursor))
    if cursor.get("acted_on") == verdict.report_id:
        return Decision(
            skip_reason=f"drift {verdict.describe()} already launched a retraining; waiting for a newer one",
            cursor=dict(cursor),
        )
    new = count_new_labels(store, DatasetHistory(instance), _cache(cursor))
    next_cursor = {**cursor, "batch_counts": _cache_cursor(new)}
    if new.images < policy.min_labels_on_drift:
        first_time = cursor.get("waiting_on") != verdict.report_id
        next_cursor["waiting_on"] = verdict.report_id
        return Decision(
            skip_reason=(
                f"{WAITING_FOR_LABELS}: {verdict.describe()}; {new.describe()}, "
                f"retraining needs {policy.min_labels_on_drift}"
            ),
            observation=_drift_metadata(verdict, new, policy, WAITING_FOR_LABELS) if first_time else None,
            cursor=next_cursor,
        )
    blocked = retrain_blocked(instance, policy.cooldown_s)
    if blocked:
        return Decision(skip_reason=f"drift {verdict.describe()}, but {blocked}", cursor=next_cursor)
    next_cursor["acted_on"] = verdict.report_id
    figures = {
        t.DRIFT_REPORT_TAG: verdict.report_id,
        t.DRIFT_SHARE_TAG: f"{verdict.drift_share:.3f}",
        t.DRIFTED_CAMERAS_TAG: ",".join(verdict.drifted_cameras) or "none",
        **_label_figures(new),
    }
    return Decision(
        tags=t.trigger_tags(t.DRIFT, f"drift {verdict.describe()}; {new.describe()}", figures),
        observation=_drift_metadata(verdict, new, policy, RETRAIN_REQUESTED),
        cursor=next_cursor,
    )


def decide_weekly(
    store: ObjectStore, instance: dg.DagsterInstance, policy: RetrainPolicy, tick: datetime
) -> Decision:
    """``weekly_retrain``: retrain when ``weekly_min_samples`` samples arrived since the last model."""
    last = last_model_time(instance)
    arrived = samples_since(store, datetime.fromtimestamp(last, UTC) if last else None)
    if arrived.samples < policy.weekly_min_samples:
        return Decision(
            skip_reason=f"{arrived.describe()}; the weekly retrain needs {policy.weekly_min_samples}"
        )
    blocked = retrain_blocked(instance, policy.cooldown_s)
    if blocked:
        return Decision(skip_reason=f"{arrived.describe()}, but {blocked}")
    stamp = tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    reason = f"weekly tick {stamp}: {arrived.describe()} (needs {policy.weekly_min_samples})"
    return Decision(
        tags=t.trigger_tags(
            t.WEEKLY, reason, {t.SCHEDULE_TICK_TAG: stamp, t.NEW_SAMPLES_TAG: arrived.samples}
        )
    )
