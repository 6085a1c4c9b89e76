"""Model evaluation (no Dagster): the edge pipeline's figures on a split, latency, plots, the gate."""

from maskops_assets.evaluation.gates import GatePolicy, GateVerdict
from maskops_assets.evaluation.metrics import (
    ClassMetrics,
    EdgeSettings,
    EvaluationError,
    EvaluationResult,
    evaluate_on_edge,
)

__all__ = [
    "ClassMetrics",
    "EdgeSettings",
    "EvaluationError",
    "EvaluationResult",
    "GatePolicy",
    "GateVerdict",
    "evaluate_on_edge",
]
