"""The release gate as pure functions on numbers: may this candidate replace the champion?

Three rules, each a ``GateVerdict`` with a message a reviewer can act on:
- mAP50 may not drop more than ``max_map50_drop`` below the champion's;
- no class's recall may drop more than ``max_recall_drop`` below the champion's;
- the median ONNX latency must stay within ``latency_budget_ms``.
With no champion yet (the first model) the candidate must clear absolute floors instead.
Classes without ground truth in the evaluated split (recall ``None``) are not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class GatePolicy(BaseModel):
    """Tolerances of the automatic gate; every number is configurable per run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_map50_drop: float = Field(
        0.02, ge=0, le=1, description="allowed mAP50 drop vs the champion (absolute)"
    )
    max_recall_drop: float = Field(
        0.05, ge=0, le=1, description="allowed per-class recall drop vs the champion"
    )
    latency_budget_ms: float = Field(100.0, gt=0, description="median ONNX latency budget per image")
    min_map50: float = Field(0.05, ge=0, le=1, description="floor for mAP50 when there is no champion")
    min_class_recall: float = Field(
        0.0, ge=0, le=1, description="floor for every class's recall with no champion"
    )


@dataclass(frozen=True)
class GateVerdict:
    """One rule's outcome; ``details`` holds the numbers it compared (for asset check metadata)."""

    gate: str
    passed: bool
    message: str
    details: dict[str, float | str | None] = field(default_factory=dict)


def map50_gate(candidate: float, champion: float | None, policy: GatePolicy) -> GateVerdict:
    """Candidate mAP50 against the champion's (or the floor when there is none)."""
    if champion is None:
        passed = candidate >= policy.min_map50
        message = (
            f"no champion yet: candidate mAP50 {candidate:.4f} "
            f"{'meets' if passed else 'is below'} the floor {policy.min_map50:.4f}"
        )
        return GateVerdict("map50", passed, message, {"candidate": candidate, "floor": policy.min_map50})
    drop = champion - candidate
    passed = drop <= policy.max_map50_drop + 1e-12
    message = (
        f"candidate mAP50 {candidate:.4f} vs champion {champion:.4f}: drop {drop:+.4f} "
        f"{'within' if passed else 'exceeds'} the tolerance {policy.max_map50_drop:.4f}"
    )
    return GateVerdict(
        "map50",
        passed,
        message,
        {"candidate": candidate, "champion": champion, "drop": drop, "tolerance": policy.max_map50_drop},
    )


def class_recall_gate(
    candidate: Mapping[str, float | None], champion: Mapping[str, float | None] | None, policy: GatePolicy
) -> GateVerdict:
    """Every class's recall against the champion's (or the floor); names the classes that fail."""
    details: dict[str, float | str | None] = {}
    failing: list[str] = []
    for name, recall in candidate.items():
        if recall is None:
            details[f"{name}.candidate"] = None
            continue
        details[f"{name}.candidate"] = recall
        reference = None if champion is None else champion.get(name)
        if champion is None:
            if recall < policy.min_class_recall:
                failing.append(f"{name} recall {recall:.4f} < floor {policy.min_class_recall:.4f}")
        elif reference is not None:
            details[f"{name}.champion"] = reference
            if reference - recall > policy.max_recall_drop + 1e-12:
                failing.append(
                    f"{name} recall {recall:.4f} dropped {reference - recall:.4f} from {reference:.4f}"
                )
    details["tolerance" if champion is not None else "floor"] = (
        policy.max_recall_drop if champion is not None else policy.min_class_recall
    )
    if failing:
        limit = f"tolerance {policy.max_recall_drop:.4f}" if champion is not None else "the floor"
        return GateVerdict(
            "class_recall", False, f"recall gate failed ({limit}): " + "; ".join(failing), details
        )
    judged = sum(1 for value in candidate.values() if value is not None)
    basis = "vs the champion" if champion is not None else "against the floor (no champion yet)"
    return GateVerdict("class_recall", True, f"recall of all {judged} judged classes holds {basis}", details)


def latency_gate(latency_ms: float | None, policy: GatePolicy) -> GateVerdict:
    """Median latency within budget; an unmeasured latency fails (a gate must not pass on no data)."""
    if latency_ms is None:
        return GateVerdict(
            "latency",
            False,
            "latency was not measured (no ONNX model to time); export the model to ONNX",
            {"budget_ms": policy.latency_budget_ms},
        )
    passed = latency_ms <= policy.latency_budget_ms
    message = (
        f"median latency {latency_ms:.2f} ms {'within' if passed else 'over'} the budget "
        f"{policy.latency_budget_ms:.2f} ms"
    )
    return GateVerdict(
        "latency", passed, message, {"latency_ms": latency_ms, "budget_ms": policy.latency_budget_ms}
    )
