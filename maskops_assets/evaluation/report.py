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
class MeasuredVariant:
    """The candidate on the frozen test split under one (runtime, precision) of the edge pipeline.

    ``ships`` is the verdict of ``variant_verdicts``: within ``max_drop`` of the gated figure, so
    a camera may run it; the release manifest lists only the variants that ship.
    """

    runtime: str
    precision: str
    map50: float
    map50_95: float
    ships: bool = False
    reason: str = ""


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
    variants: tuple[MeasuredVariant, ...] = ()

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


def variant_verdicts(
    gated: EvaluationResult, measured: list[tuple[str, str, EvaluationResult]], max_drop: float
) -> tuple[MeasuredVariant, ...]:
    """Which measured (runtime, precision) variants a camera may run.

    The gated result itself always ships (the gate judged it); another variant ships when its
    mAP50 on the same split is at most ``max_drop`` below the gated figure, so a camera that runs,
    say, bfloat16 on an AMX CPU runs something whose accuracy was measured and found equal.
    """
    variants = [
        MeasuredVariant(
            gated.runtime, gated.inference_precision, gated.map50, gated.map50_95, True, "the gated figure"
        )
    ]
    for runtime, precision, result in measured:
        if (runtime, precision) == (gated.runtime, gated.inference_precision):
            continue
        drop = gated.map50 - result.map50
        ships = drop <= max_drop + 1e-12
        reason = (
            f"mAP50 {result.map50:.4f} vs gated {gated.map50:.4f} ({gated.runtime} "
            f"{gated.inference_precision}): drop {drop:+.4f} {'within' if ships else 'over'} {max_drop:.4f}"
        )
        variants.append(MeasuredVariant(runtime, precision, result.map50, result.map50_95, ships, reason))
    return tuple(variants)
