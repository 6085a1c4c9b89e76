"""A candidate's evaluation next to the champion's, and the gate verdicts read from it.

``ModelEvaluation`` is what ``model_evaluation`` hands on: the candidate and (when there is one)
the champion measured on the same frozen test split and on recent data, the gate policy used,
and the plot files. ``gate_verdicts`` applies the pure gate functions to it, so the asset checks
and any other reader reach the same decision from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from maskops_assets.evaluation.gates import (
    GatePolicy,
    GateVerdict,
    class_recall_gate,
    latency_gate,
    map50_gate,
)
from maskops_assets.evaluation.metrics import EvaluationResult
from maskops_assets.lineage import TrainedModel

TEST = "test"
RECENT = "recent"


@dataclass(frozen=True)
class ChampionRef:
    """The model behind ``@champion`` when the candidate was evaluated."""

    registered_version: str
    model_version: str | None
    mlflow_run_id: str


@dataclass(frozen=True)
class ModelEvaluation:
    """Candidate and champion results per data set (``test``, ``recent``) plus the gate policy."""

    candidate: TrainedModel
    policy: GatePolicy
    candidate_results: dict[str, EvaluationResult]
    champion: ChampionRef | None = None
    champion_results: dict[str, EvaluationResult] = field(default_factory=dict)
    plots: dict[str, str] = field(default_factory=dict)
    recent_data: str = ""

    def comparison_rows(self) -> list[dict[str, object]]:
        """One row per (data set, class) with candidate and champion numbers, for tables."""
        rows: list[dict[str, object]] = []
        for dataset, result in self.candidate_results.items():
            reference = self.champion_results.get(dataset)
            for name, metrics in result.per_class.items():
                ref = reference.per_class.get(name) if reference else None
                rows.append(
                    {
                        "data": dataset,
                        "class": name,
                        "instances": metrics.instances,
                        "precision": metrics.precision,
                        "recall": metrics.recall,
                        "ap50": metrics.ap50,
                        "champion_recall": ref.recall if ref else None,
                        "champion_ap50": ref.ap50 if ref else None,
                    }
                )
        return rows


def gate_verdicts(evaluation: ModelEvaluation) -> dict[str, GateVerdict]:
    """The three gate rules on the frozen test split, keyed by gate name."""
    candidate = evaluation.candidate_results[TEST]
    champion = evaluation.champion_results.get(TEST)
    policy = evaluation.policy
    return {
        "map50": map50_gate(candidate.map50, champion.map50 if champion else None, policy),
        "class_recall": class_recall_gate(
            candidate.class_recalls(), champion.class_recalls() if champion else None, policy
        ),
        "latency": latency_gate(candidate.latency_ms, policy),
    }
