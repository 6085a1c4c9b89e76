"""Retraining triggers: new reviewed labels, drift, a weekly schedule; debounced, and tagged with why.

Plain code the Dagster layer (``maskops_assets/defs/triggers.py``) wraps; see docs/triggers.md.
"""

from maskops_assets.triggers.debounce import retrain_blocked
from maskops_assets.triggers.decisions import (
    RETRAIN_REQUESTED,
    WAITING_FOR_LABELS,
    Decision,
    decide_on_drift,
    decide_on_labels,
    decide_weekly,
)
from maskops_assets.triggers.policy import POLICY_ENV, RetrainPolicy, RetrainPolicyError

__all__ = [
    "POLICY_ENV",
    "RETRAIN_REQUESTED",
    "WAITING_FOR_LABELS",
    "Decision",
    "RetrainPolicy",
    "RetrainPolicyError",
    "decide_on_drift",
    "decide_on_labels",
    "decide_weekly",
    "retrain_blocked",
]
