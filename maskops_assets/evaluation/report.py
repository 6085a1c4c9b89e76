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

    ``ships`` is the verdict of ``variant_verdicts`` (``int8_verdict`` for int8): within the
    allowed drop of the fp32 figure it is compared with, so a camera may run it; the release
    manifest lists only the variants that ship. ``sha256`` is the digest of the file measured
    when that is not the model file itself (the quantized ``model_int8.zip``), else empty.
    ``reference_map50`` is the fp32 figure it was compared with (None for the gated one).
    """

    runtime: str
    precision: str
    map50: float
    map50_95: float
    ships: bool = False
    reason: str = ""
    sha256: str = ""
    reference_map50: float | None = None
    max_drop: float | None = None

    @property
    def drop(self) -> float | None:
        """How much mAP50 it lost against its fp32 reference (negative: it gained)."""
        return None if self.reference_map50 is None else self.reference_map50 - self.map50


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
        variants.append(
            MeasuredVariant(
                runtime, precision, result.map50, result.map50_95, ships, reason, "", gated.map50, max_drop
            )
        )
    return tuple(variants)


#: The precision name of the quantized model's variant.
INT8 = "int8"


def int8_verdict(
    fp32: EvaluationResult, int8: EvaluationResult, sha256: str, max_drop: float
) -> MeasuredVariant:
    """Whether the INT8 model may ship: its mAP50 at most ``max_drop`` below ``fp32``, the fp32
    model measured the same way (same test split, same runtime, same edge pipeline)."""
    if (fp32.runtime, fp32.split, fp32.data_yaml) != (int8.runtime, int8.split, int8.data_yaml):
        raise ValueError(
            f"int8 measured on {int8.runtime} '{int8.split}' of {int8.data_yaml} cannot be judged against "
            f"fp32 on {fp32.runtime} '{fp32.split}' of {fp32.data_yaml}: measure both the same way"
        )
    drop = fp32.map50 - int8.map50
    ships = drop <= max_drop + 1e-12
    reason = (
        f"mAP50 {int8.map50:.4f} vs fp32 {fp32.map50:.4f} on {fp32.runtime}: drop {drop:+.4f} "
        f"{'within' if ships else 'over'} int8_max_drop {max_drop:.4f}"
    )
    return MeasuredVariant(
        int8.runtime, INT8, int8.map50, int8.map50_95, ships, reason, sha256, fp32.map50, max_drop
    )
