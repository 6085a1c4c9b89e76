"""The sampler: picks the analysed frames worth sending back for labeling.

Rules (all combinable; each one off when its setting is None/0/False):

- ``uncertainty_band``: a box's confidence lies in [low, high]; score 1 at the middle of the
  band, 0 at its edges.
- ``least_confidence``: 1 - top class probability, rescaled to [0, 1]; fires at >= threshold.
- ``margin``: the gap between the top two class probabilities; fires when the gap <= threshold;
  score = 1 - gap.
- ``entropy``: class-probability entropy / log(num classes); fires at >= threshold.
- ``random``: a fraction ``random_rate`` of frames, whatever the model said (an unbiased sample).
- ``motion_no_detection``: the gate saw motion but the model found nothing (a possible miss).

The box-level rules score a frame by its most uncertain box. When several rules fire, the one
with the highest priority is recorded. Priority (0..1, higher = more informative; the outbox
evicts the lowest first) is the rule's score for the uncertainty rules and a fixed setting for
``random`` and ``motion_no_detection``.

Shadow mode (``edge_agent.shadow``) keeps frames by its own rule, ``shadow_disagreement``,
through ``Sampler.admit`` on a sampler of its own: its own budgets, so it never takes the budget of
the camera's rules.

A kept frame must then fit the per-minute and per-hour budgets (checked first: cheap) and pass
near-duplicate suppression (a 64-bit dHash compared with frames kept in the last
``dedup_window_s``; a static scene does not flood the queue). Windows run on the frame's
``captured_at`` unless ``now`` is given, so a replayed video file samples the same way however
fast it is read.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.detector.base import DetectionResult
from edge_agent.frames import Frame
from edge_agent.gate import GateDecision
from edge_agent.shrink import shrink
from maskops_contracts import SamplingReason

# Ties between rules with equal priority go to the first in this order.
RULE_ORDER = ("uncertainty_band", "least_confidence", "margin", "entropy", "motion_no_detection", "random")


class SamplerConfig(BaseModel):
    """Which rules keep frames, and how many frames may be kept."""

    model_config = ConfigDict(extra="forbid")

    uncertainty_band: tuple[float, float] | None = (0.4, 0.7)
    least_confidence: float | None = Field(None, ge=0.0, le=1.0)
    margin: float | None = Field(0.15, ge=0.0, le=1.0)
    entropy: float | None = Field(None, ge=0.0, le=1.0)
    random_rate: float = Field(0.0, ge=0.0, le=1.0)
    random_priority: float = Field(0.1, ge=0.0, le=1.0)
    motion_no_detection: bool = False
    motion_no_detection_priority: float = Field(0.5, ge=0.0, le=1.0)
    max_per_minute: int | None = Field(6, ge=0)
    max_per_hour: int | None = Field(120, ge=0)
    dedup_window_s: float = Field(60.0, ge=0.0)
    dedup_max_hamming: int = Field(6, ge=0, le=64)

    @model_validator(mode="after")
    def _band_is_ordered(self) -> SamplerConfig:
        if self.uncertainty_band is not None:
            low, high = self.uncertainty_band
            if not 0.0 <= low < high <= 1.0:
                raise ValueError(
                    f"uncertainty_band must be [low, high] with 0 <= low < high <= 1, got {[low, high]}"
                )
        return self


@dataclass(frozen=True, slots=True)
class SamplingDecision:
    """Keep this frame: which rule kept it (with its score) and how valuable it is (0..1)."""

    reason: SamplingReason
    priority: float


@dataclass
class SamplerStats:
    """Counters for /metrics: rules that fired, frames kept per rule, and frames dropped after firing."""

    considered: int = 0
    fired: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    dropped_by_budget: int = 0
    dropped_as_duplicate: int = 0

    @property
    def kept_total(self) -> int:
        return sum(self.kept.values())


def dhash(image_bgr: np.ndarray, hash_size: int = 8) -> int:
    """A 64-bit difference hash: robust to scale, compression and small light changes."""
    image_bgr = shrink(image_bgr, 8 * (hash_size + 1))  # cheap first step; the hash averages anyway
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    small = cv2.resize(grey, (hash_size + 1, hash_size), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _rule_scores(result: DetectionResult, gate: GateDecision, cfg: SamplerConfig) -> dict[str, float]:
    """Score of every rule that fires on this frame."""
    fired: dict[str, float] = {}
    dets = result.detections
    if dets:
        if cfg.uncertainty_band is not None:
            low, high = cfg.uncertainty_band
            mid, half = (low + high) / 2, (high - low) / 2
            inside = [1.0 - abs(d.confidence - mid) / half for d in dets if low <= d.confidence <= high]
            if inside:
                fired["uncertainty_band"] = max(0.0, max(inside))
        probs = np.asarray([d.class_probs for d in dets], dtype=np.float64)
        n_classes = probs.shape[1]
        if n_classes > 1:
            ordered = np.sort(probs, axis=1)
            top, second = ordered[:, -1], ordered[:, -2]
            if cfg.least_confidence is not None:
                lc = float(np.max((1.0 - top) * n_classes / (n_classes - 1)))
                if lc >= cfg.least_confidence:
                    fired["least_confidence"] = min(1.0, lc)
            if cfg.margin is not None:
                gap = float(np.min(top - second))
                if gap <= cfg.margin:
                    fired["margin"] = 1.0 - gap
            if cfg.entropy is not None:
                p = np.clip(probs, 1e-12, 1.0)
                ent = float(np.max(-(p * np.log(p)).sum(axis=1) / math.log(n_classes)))
                if ent >= cfg.entropy:
                    fired["entropy"] = min(1.0, ent)
    elif cfg.motion_no_detection and gate.reason == "motion":
        fired["motion_no_detection"] = gate.motion_score
    return fired


def rule_priority(rule: str, score: float, cfg: SamplerConfig) -> float:
    """The priority (0..1) of a frame that ``rule`` fired on with ``score``: the score for the
    uncertainty rules, the configured fixed value for ``random`` and ``motion_no_detection``."""
    if rule == "random":
        return cfg.random_priority
    if rule == "motion_no_detection":
        return cfg.motion_no_detection_priority
    return min(1.0, max(0.0, score))


def frame_priority(
    result: DetectionResult, cfg: SamplerConfig, gate: GateDecision | None = None
) -> float | None:
    """The priority the sampler's model-based rules give this frame (the highest-priority rule that
    fires, as ``Sampler.consider`` records it), or None when none fires. No random draw, budget or
    duplicate check: this is the score alone, for ranking a pool of frames offline."""
    fired = _rule_scores(result, gate or GateDecision(True, "admitted"), cfg)
    if not fired:
        return None
    return max(rule_priority(rule, score, cfg) for rule, score in fired.items())


def rank_for_labeling(priorities: Sequence[float | None], rng: np.random.Generator) -> list[int]:
    """Indices of a pool of frames, the most informative first: the order in which a full outbox,
    which evicts the lowest priority first, would keep them. Frames no rule fired on (None) come
    after every frame one did; ties, and the frames that fired nothing, are in ``rng``'s random
    order. With no priorities at all this is a uniform random sample, the unbiased baseline."""
    shuffled = rng.permutation(len(priorities))
    return [int(i) for i in sorted(shuffled, key=lambda i: (priorities[i] is None, -(priorities[i] or 0.0)))]


class Sampler:
    """Decides, per analysed frame of one camera, whether to keep it. Not thread-safe."""

    def __init__(self, cfg: SamplerConfig, camera_id: str, seed: int | None = None) -> None:
        self.cfg = cfg
        self.camera_id = camera_id
        self.stats = SamplerStats()
        self._rng = np.random.default_rng(seed)
        self._kept_at: deque[float] = deque()  # for the budgets, newest last
        self._recent_hashes: deque[tuple[float, int]] = deque()  # (time, dHash) of kept frames

    def consider(
        self,
        frame: Frame,
        result: DetectionResult,
        gate: GateDecision,
        now: datetime | None = None,
    ) -> SamplingDecision | None:
        """A decision to keep ``frame``, or None."""
        self.stats.considered += 1
        fired = _rule_scores(result, gate, self.cfg)
        # Drawn on every frame so the random sample does not depend on what the other rules did.
        if self.cfg.random_rate > 0 and self._rng.random() < self.cfg.random_rate:
            fired["random"] = self.cfg.random_rate
        if not fired:
            return None
        for rule in fired:
            self.stats.fired[rule] += 1

        rule, score = max(fired.items(), key=lambda kv: (self._priority(*kv), -RULE_ORDER.index(kv[0])))
        return self.admit(frame, rule, score, self._priority(rule, score), now)

    def admit(
        self, frame: Frame, rule: str, score: float, priority: float, now: datetime | None = None
    ) -> SamplingDecision | None:
        """Keep ``frame``, which ``rule`` fired on with ``score``, if it fits the budgets and is no
        near-duplicate of a frame kept lately; None otherwise (counted in ``stats``)."""
        t = (now or frame.captured_at).timestamp()
        if self._kept_at and t < self._kept_at[-1] - 1.0:
            # The clock went backwards (a looping video, a clock fix): the windows restart.
            self._kept_at.clear()
            self._recent_hashes.clear()

        # The budget first: it is cheap, and a frame over budget needs no hash.
        if not self._within_budget(t):
            self.stats.dropped_by_budget += 1
            return None
        frame_hash = dhash(frame.thumbnail())
        if self._is_duplicate(frame_hash, t):
            self.stats.dropped_as_duplicate += 1
            return None

        self._kept_at.append(t)
        self._recent_hashes.append((t, frame_hash))
        self.stats.kept[rule] += 1
        return SamplingDecision(SamplingReason(rule=rule, score=score), priority)

    def _priority(self, rule: str, score: float) -> float:
        return rule_priority(rule, score, self.cfg)

    def _is_duplicate(self, frame_hash: int, t: float) -> bool:
        window = self.cfg.dedup_window_s
        if window <= 0:
            return False
        while self._recent_hashes and t - self._recent_hashes[0][0] >= window:
            self._recent_hashes.popleft()
        return any(hamming(frame_hash, h) <= self.cfg.dedup_max_hamming for _, h in self._recent_hashes)

    def _within_budget(self, t: float) -> bool:
        while self._kept_at and t - self._kept_at[0] >= 3600.0:
            self._kept_at.popleft()
        if self.cfg.max_per_hour is not None and len(self._kept_at) >= self.cfg.max_per_hour:
            return False
        if self.cfg.max_per_minute is not None:
            last_minute = sum(1 for k in self._kept_at if t - k < 60.0)
            if last_minute >= self.cfg.max_per_minute:
                return False
        return True
