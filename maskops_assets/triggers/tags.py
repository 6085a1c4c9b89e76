"""The tags a retraining run carries: which trigger started it, why, and the figures behind it."""

from __future__ import annotations

from maskops_assets.constants import TRIGGER_REASON_TAG, TRIGGER_TAG

# Values of TRIGGER_TAG.
LABEL_THRESHOLD = "label_threshold"
DRIFT = "drift"
WEEKLY = "weekly_schedule"
MANUAL = "manual"

# Figures, one tag each, so runs can be filtered by them in the UI.
NEW_LABEL_IMAGES_TAG = "maskops/new_label_images"
NEW_LABEL_BATCHES_TAG = "maskops/new_label_batches"
LABEL_BASELINE_TAG = "maskops/label_baseline"
DRIFT_REPORT_TAG = "maskops/drift_report"
DRIFT_SHARE_TAG = "maskops/drift_share"
DRIFTED_CAMERAS_TAG = "maskops/drifted_cameras"
SCHEDULE_TICK_TAG = "maskops/schedule_tick"
NEW_SAMPLES_TAG = "maskops/new_samples"

_MAX_TAG = 1000


def trigger_tags(trigger: str, reason: str, figures: dict[str, object] | None = None) -> dict[str, str]:
    """``TRIGGER_TAG``/``TRIGGER_REASON_TAG`` plus each figure (tag name -> value) as strings."""
    tags = {TRIGGER_TAG: trigger, TRIGGER_REASON_TAG: reason[:_MAX_TAG]}
    tags.update({name: str(value)[:_MAX_TAG] for name, value in (figures or {}).items()})
    return tags
