"""Model evaluation (no Dagster): metrics on a split, latency, plots, and the release gate."""

from maskops_assets.evaluation.gates import GatePolicy, GateVerdict
from maskops_assets.evaluation.metrics import ClassMetrics, EvaluationError, EvaluationResult, evaluate_model

__all__ = [
    "ClassMetrics",
    "EvaluationError",
    "EvaluationResult",
    "GatePolicy",
    "GateVerdict",
    "evaluate_model",
]
