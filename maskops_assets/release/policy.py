"""The release policy: what happens to a gated candidate without anyone waiting for a person.

``auto`` ships a candidate that passed the gate and beats the champion by ``min_improvement`` (mAP50
on the frozen test split) as a canary at once, and refuses one that does not. ``manual`` ships
nothing by itself: the candidate becomes ``@challenger`` and waits, visibly, until a person launches
``release_candidate`` with ``approved_by``. A named approval ships a gated candidate under either
policy (the person saw the numbers). A candidate that failed the gate never ships.

``decide_release`` is pure: the asset, the jobs and the tests reach the same decision from the same
numbers. Settings come from the run config, else ``$MASKOPS_RELEASE_POLICY`` /
``$MASKOPS_MIN_IMPROVEMENT``, else ``manual`` / 0.01.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from maskops_assets.evaluation.report import TEST, ModelEvaluation, gate_verdicts

AUTO = "auto"
MANUAL = "manual"
POLICIES = (AUTO, MANUAL)
DEFAULT_POLICY = MANUAL
DEFAULT_MIN_IMPROVEMENT = 0.01
POLICY_ENV = "MASKOPS_RELEASE_POLICY"
MIN_IMPROVEMENT_ENV = "MASKOPS_MIN_IMPROVEMENT"

#: What ``decide_release`` can say.
SHIP = "ship"
AWAIT_APPROVAL = "await_approval"
REFUSE = "refuse"
BLOCKED = "blocked"


class PolicyError(ValueError):
    """A release policy setting is not valid; the message names the setting and where it came from."""


@dataclass(frozen=True)
class ReleasePolicy:
    policy: str = DEFAULT_POLICY
    min_improvement: float = DEFAULT_MIN_IMPROVEMENT

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise PolicyError(f"release_policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if not math.isfinite(self.min_improvement):
            raise PolicyError(f"min_improvement must be a finite number, got {self.min_improvement!r}")

    @classmethod
    def resolve(
        cls,
        policy: str = "",
        min_improvement: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ReleasePolicy:
        """Given settings first (run config), then the environment, then the defaults."""
        environ = os.environ if environ is None else environ
        name = (policy or environ.get(POLICY_ENV) or DEFAULT_POLICY).strip().lower()
        where = "the run config's release_policy" if policy else f"${POLICY_ENV}"
        if name not in POLICIES:
            raise PolicyError(f"{where} must be one of {', '.join(POLICIES)}, got {name!r}")
        if min_improvement is None:
            raw = environ.get(MIN_IMPROVEMENT_ENV)
            try:
                min_improvement = float(raw) if raw else DEFAULT_MIN_IMPROVEMENT
            except ValueError:
                raise PolicyError(f"${MIN_IMPROVEMENT_ENV} must be a number (mAP50), got {raw!r}") from None
        return cls(name, float(min_improvement))


@dataclass(frozen=True)
class ReleaseDecision:
    """What to do with a candidate, and why (the reason is shown in the asset's metadata)."""

    action: str
    reason: str
    policy: str
    min_improvement: float
    candidate_map50: float
    champion_map50: float | None = None

    @property
    def improvement(self) -> float | None:
        return None if self.champion_map50 is None else self.candidate_map50 - self.champion_map50


def decide_release(
    evaluation: ModelEvaluation, policy: ReleasePolicy, approved_by: str = ""
) -> ReleaseDecision:
    """Ship, wait for approval, refuse (below ``min_improvement``) or blocked (failed the gate)."""
    candidate = evaluation.candidate_results[TEST].map50
    reference = evaluation.champion_results.get(TEST)
    champion = reference.map50 if reference is not None else None

    def decision(action: str, reason: str) -> ReleaseDecision:
        return ReleaseDecision(action, reason, policy.policy, policy.min_improvement, candidate, champion)

    failed = [v.message for v in gate_verdicts(evaluation).values() if not v.passed]
    if failed:
        return decision(BLOCKED, "did not pass the release gate: " + "; ".join(failed))
    versus = (
        "no champion to compare with"
        if champion is None
        else f"test mAP50 {candidate:.4f} vs champion {champion:.4f} ({candidate - champion:+.4f})"
    )
    if approved_by.strip():
        return decision(SHIP, f"approved by {approved_by.strip()}; passed the gate, {versus}")
    if policy.policy == MANUAL:
        return decision(
            AWAIT_APPROVAL, f"release_policy manual: passed the gate, {versus}; waits for a person's approval"
        )
    if champion is None:
        return decision(SHIP, f"release_policy auto: passed the gate, {versus} (first release)")
    if candidate - champion + 1e-12 >= policy.min_improvement:
        return decision(
            SHIP, f"release_policy auto: {versus} beats the champion by at least {policy.min_improvement:.4f}"
        )
    return decision(
        REFUSE, f"release_policy auto: {versus} is below min_improvement {policy.min_improvement:.4f}"
    )
