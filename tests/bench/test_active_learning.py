"""The active-learning bench's figures: labels to reach a target, and the per-strategy summary."""

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "active_learning.py"
_spec = importlib.util.spec_from_file_location("bench_active_learning", _PATH)
al = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = al  # dataclasses look their module up there
_spec.loader.exec_module(al)


def test_labels_to_reach_interpolates_between_the_budgets_around_the_first_crossing():
    labels, map50 = [0, 10, 20, 40, 80], [0.2, 0.4, 0.5, 0.7, 0.6]
    assert al.labels_to_reach(labels, map50, 0.6) == pytest.approx(30.0)  # halfway from 20 to 40
    assert al.labels_to_reach(labels, map50, 0.5) == pytest.approx(20.0)  # exactly on a budget
    assert al.labels_to_reach(labels, map50, 0.1) == pytest.approx(0.0)  # v1 already there
    assert al.labels_to_reach(labels, map50, 0.71) is None  # never reached
    # order of the points does not matter
    assert al.labels_to_reach(labels[::-1], map50[::-1], 0.6) == pytest.approx(30.0)


def test_summary_and_labels_needed_measure_every_strategy_against_randoms_last_budget():
    trials = [
        al.Trial(strategy, seed, budget, value, 1.0)
        for strategy, curve in (
            ("random", {10: (0.4, 0.6), 20: (0.6, 0.8)}),
            ("margin", {10: (0.7, 0.9), 20: (0.8, 0.8)}),
        )
        for budget, values in curve.items()
        for seed, value in enumerate(values)
    ]
    summary = al.summarise(trials, v1_map50=0.2)
    assert summary["random"]["labels"] == [0, 10, 20]
    assert summary["random"]["mean"] == pytest.approx([0.2, 0.5, 0.7])
    assert summary["random"]["std"][1] == pytest.approx(0.1414, abs=1e-4)
    target, needed = al.labels_needed(summary)
    assert target == pytest.approx(0.7)
    assert needed["random"] == pytest.approx(20.0)
    assert needed["margin"] == pytest.approx(25 / 3)  # 0.2 at 0 -> 0.8 at 10 crosses 0.7 at 5/6 of 10


def test_a_partial_run_reports_only_the_seeds_that_have_every_strategy_and_budget():
    args = al.parse_args(["--strategies", "margin", "random", "--budgets", "10", "20", "--seeds", "3"])
    done = {
        (strategy, seed, budget): al.Trial(strategy, seed, budget, 0.5, 1.0)
        for strategy in ("margin", "random")
        for seed in (0, 1, 2)
        for budget in (10, 20)
        if (strategy, seed, budget) != ("random", 1, 20)  # seed 1 is still running
    }
    kept = al.complete_seeds(done, args)
    assert sorted({t.seed for t in kept}) == [0, 2]
    assert len(kept) == 8


def test_random_is_required_as_the_baseline():
    with pytest.raises(SystemExit):
        al.parse_args(["--strategies", "margin"])
