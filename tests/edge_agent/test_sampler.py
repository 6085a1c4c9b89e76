"""The sampler: every rule, the priority between rules, near-duplicate suppression and budgets."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from edge_agent.detector.base import DetectionResult
from edge_agent.frames import Frame
from edge_agent.gate import GateDecision
from edge_agent.sampler import (
    Sampler,
    SamplerConfig,
    dhash,
    frame_priority,
    hamming,
    rank_for_labeling,
)
from maskops_contracts import Detection

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ADMITTED = GateDecision(True, "admitted")
# Every rule off; each test switches on what it checks.
OFF = {"uncertainty_band": None, "margin": None, "max_per_minute": None, "max_per_hour": None}


def _cfg(**kwargs) -> SamplerConfig:
    return SamplerConfig(**{**OFF, **kwargs})


def _det(conf: float, probs=(0.9, 0.05, 0.05)) -> Detection:
    return Detection((1.0, 1.0, 20.0, 20.0), "with_mask", conf, probs)


def _frame(i: int, seconds: float = 0.2, seed: int | None = None) -> Frame:
    """Frame i, ``seconds`` apart; a seed gives each frame its own (non-duplicate) content."""
    rng = np.random.default_rng(i if seed is None else seed)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return Frame("cam", i, image, T0 + timedelta(seconds=i * seconds), "clip.mp4")


def _consider(sampler, frame, dets, gate=ADMITTED):
    return sampler.consider(frame, DetectionResult(list(dets), 1.0), gate)


def test_uncertainty_band_scores_the_middle_highest():
    sampler = Sampler(_cfg(uncertainty_band=(0.4, 0.7)), "cam")
    assert _consider(sampler, _frame(0), [_det(0.9)]) is None
    middle = _consider(sampler, _frame(1), [_det(0.9), _det(0.55)])
    assert middle.reason.rule == "uncertainty_band" and middle.reason.score == pytest.approx(1.0)
    edge = _consider(sampler, _frame(2), [_det(0.43)])
    assert edge.reason.score == pytest.approx(0.2) and edge.priority == pytest.approx(0.2)


def test_least_confidence_margin_and_entropy_read_the_class_probabilities():
    confident, torn = (0.98, 0.01, 0.01), (0.45, 0.44, 0.11)
    for rule, value in (("least_confidence", 0.5), ("margin", 0.1), ("entropy", 0.6)):
        sampler = Sampler(_cfg(**{rule: value}), "cam")
        assert _consider(sampler, _frame(0), [_det(0.9, confident)]) is None, rule
        kept = _consider(sampler, _frame(1), [_det(0.9, confident), _det(0.9, torn)])
        assert kept is not None and kept.reason.rule == rule
        assert 0.5 < kept.priority <= 1.0
    assert Sampler(_cfg(margin=0.1), "cam").consider(
        _frame(0), DetectionResult([_det(0.9, torn)], 1.0), ADMITTED
    ).reason.score == pytest.approx(0.99)


def test_when_several_rules_fire_the_highest_priority_is_recorded():
    sampler = Sampler(_cfg(uncertainty_band=(0.4, 0.7), margin=0.3, entropy=0.5), "cam")
    # confidence 0.45 sits near the band's edge (score 1/6); the classes are nearly tied (margin 0.98).
    kept = _consider(sampler, _frame(0), [_det(0.45, (0.34, 0.33, 0.33))])
    assert kept.reason.rule == "entropy"  # entropy of a near-uniform vector is ~1.0, the highest
    assert kept.priority == pytest.approx(kept.reason.score)
    assert sampler.stats.fired == {"uncertainty_band": 1, "margin": 1, "entropy": 1}
    assert sampler.stats.kept == {"entropy": 1}


def test_random_rate_keeps_about_that_share_with_low_priority():
    sampler = Sampler(_cfg(random_rate=0.2, dedup_window_s=0), "cam", seed=7)
    kept = [_consider(sampler, _frame(i), [_det(0.95)]) for i in range(500)]
    kept = [k for k in kept if k is not None]
    assert 70 <= len(kept) <= 130
    assert {k.reason.rule for k in kept} == {"random"} and {k.priority for k in kept} == {0.1}


def test_motion_without_detection():
    sampler = Sampler(_cfg(motion_no_detection=True), "cam")
    assert _consider(sampler, _frame(0), [], GateDecision(True, "heartbeat", 0.0)) is None
    kept = _consider(sampler, _frame(1), [], GateDecision(True, "motion", 0.3))
    assert kept.reason.rule == "motion_no_detection" and kept.reason.score == pytest.approx(0.3)
    assert kept.priority == 0.5
    assert _consider(sampler, _frame(2), [_det(0.9)], GateDecision(True, "motion", 0.3)) is None


def test_a_static_scene_keeps_one_sample_not_a_hundred():
    sampler = Sampler(SamplerConfig(max_per_minute=None, max_per_hour=None), "cam")
    still = _frame(0).image
    kept = [
        _consider(sampler, Frame("cam", i, still.copy(), T0 + timedelta(seconds=i * 0.2), "x"), [_det(0.55)])
        for i in range(100)
    ]
    assert sum(k is not None for k in kept) == 1
    assert sampler.stats.dropped_as_duplicate == 99 and sampler.stats.kept_total == 1


def test_a_duplicate_is_kept_again_after_the_window():
    sampler = Sampler(_cfg(uncertainty_band=(0.4, 0.7), dedup_window_s=10), "cam")
    still = _frame(0).image
    times = [0, 5, 9.9, 10.0, 15]
    kept = [
        _consider(sampler, Frame("cam", i, still, T0 + timedelta(seconds=t), "x"), [_det(0.55)]) is not None
        for i, t in enumerate(times)
    ]
    assert kept == [True, False, False, True, False]


def test_near_duplicates_within_the_hamming_distance_are_suppressed():
    base = _frame(0).image
    noisy = np.clip(base.astype(int) + 2, 0, 255).astype(np.uint8)
    assert hamming(dhash(base), dhash(noisy)) <= 6
    assert hamming(dhash(base), dhash(_frame(1).image)) > 6


def test_budget_per_minute_and_per_hour():
    sampler = Sampler(_cfg(uncertainty_band=(0.4, 0.7), max_per_minute=3, max_per_hour=5), "cam")
    # Distinct frames 5 s apart for 2 minutes: 3 in the first minute, 2 more before the hour is full.
    kept = [_consider(sampler, _frame(i, seconds=5.0), [_det(0.55)]) is not None for i in range(24)]
    assert kept[:12].count(True) == 3
    assert kept.count(True) == 5
    assert sampler.stats.dropped_by_budget == 19


def test_frames_over_budget_are_not_hashed(monkeypatch):
    """A busy camera fires on most frames; hashing only the ones the budget lets through keeps
    the per-frame cost down."""
    import edge_agent.sampler as sampler_module

    hashed = []
    real = sampler_module.dhash
    monkeypatch.setattr(sampler_module, "dhash", lambda image: hashed.append(1) or real(image))
    sampler = Sampler(_cfg(uncertainty_band=(0.4, 0.7), max_per_minute=2), "cam")
    kept = [_consider(sampler, _frame(i, seconds=1.0), [_det(0.55)]) is not None for i in range(30)]
    assert kept.count(True) == 2 and sampler.stats.dropped_by_budget == 28
    assert len(hashed) == 2


def test_budget_windows_use_now_when_given():
    sampler = Sampler(_cfg(uncertainty_band=(0.4, 0.7), max_per_minute=1), "cam")
    result = DetectionResult([_det(0.55)], 1.0)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert sampler.consider(_frame(0), result, ADMITTED, now=now) is not None
    assert sampler.consider(_frame(1), result, ADMITTED, now=now + timedelta(seconds=30)) is None
    assert sampler.consider(_frame(2), result, ADMITTED, now=now + timedelta(seconds=61)) is not None


def test_config_validation():
    with pytest.raises(ValidationError, match="uncertainty_band"):
        SamplerConfig(uncertainty_band=(0.8, 0.2))
    with pytest.raises(ValidationError, match="extra"):
        SamplerConfig(uncertainty=(0.1, 0.2))


def test_a_clock_going_backwards_restarts_the_budget_and_dedup_windows():
    """An NTP correction or a looping video: frames from 'before' the last kept one must not be
    counted against a window that has not really passed."""
    sampler = Sampler(_cfg(uncertainty_band=(0.4, 0.7), max_per_minute=1), "cam")
    later = _frame(0, seed=1)
    later.captured_at = T0 + timedelta(minutes=30)
    assert _consider(sampler, later, [_det(0.55)]) is not None
    earlier = _frame(1, seed=2)  # the clock went back half an hour
    assert _consider(sampler, earlier, [_det(0.55)]) is not None
    same_image_again = Frame("cam", 2, later.image, T0 + timedelta(seconds=70), "clip.mp4")
    assert _consider(sampler, same_image_again, [_det(0.55)]) is not None  # dedup window restarted too
    assert sampler.stats.dropped_by_budget == 0 and sampler.stats.dropped_as_duplicate == 0


def test_frame_priority_is_what_consider_records_without_budgets_or_draws():
    torn = (0.45, 0.44, 0.11)
    cfg = _cfg(uncertainty_band=(0.4, 0.7), margin=0.1)
    dets = [_det(0.9), _det(0.43, torn)]
    kept = Sampler(cfg, "cam").consider(_frame(0), DetectionResult(dets, 1.0), ADMITTED)
    assert frame_priority(DetectionResult(dets, 1.0), cfg) == pytest.approx(kept.priority)
    assert kept.reason.rule == "margin" and kept.priority == pytest.approx(0.99)
    assert frame_priority(DetectionResult([_det(0.9)], 1.0), cfg) is None
    assert frame_priority(DetectionResult([], 1.0), cfg) is None
    # random never fires here: it is a draw, not a score of the model's output
    assert frame_priority(DetectionResult([_det(0.9)], 1.0), _cfg(random_rate=1.0)) is None


def test_rank_for_labeling_puts_high_priority_first_and_unscored_frames_last_in_random_order():
    priorities = [None, 0.2, None, 0.9, 0.5, None]
    order = rank_for_labeling(priorities, np.random.default_rng(0))
    assert order[:3] == [3, 4, 1]
    assert sorted(order[3:]) == [0, 2, 5] and sorted(order) == list(range(6))
    # all unscored: a uniform random permutation, reproducible from the generator's seed
    unscored = [None] * 50
    first = rank_for_labeling(unscored, np.random.default_rng(1))
    assert first == rank_for_labeling(unscored, np.random.default_rng(1))
    assert first != rank_for_labeling(unscored, np.random.default_rng(2))
    assert sorted(first) == list(range(50)) and first != list(range(50))
