"""The release gate on plain numbers: tolerances, floors, per-class recall, latency budget."""

import pytest
from pydantic import ValidationError

from maskops_assets.evaluation.gates import GatePolicy, class_recall_gate, latency_gate, map50_gate

POLICY = GatePolicy(max_map50_drop=0.02, max_recall_drop=0.05, latency_budget_ms=50, min_map50=0.3)


def test_map50_within_tolerance_passes_and_beyond_fails():
    assert map50_gate(0.79, 0.80, POLICY).passed
    assert map50_gate(0.78, 0.80, POLICY).passed  # exactly the tolerance
    failed = map50_gate(0.70, 0.80, POLICY)
    assert not failed.passed
    assert "exceeds the tolerance" in failed.message
    assert failed.details["drop"] == pytest.approx(0.10)


def test_map50_improvement_passes():
    assert map50_gate(0.9, 0.5, POLICY).passed


def test_map50_without_champion_uses_the_floor():
    assert map50_gate(0.31, None, POLICY).passed
    verdict = map50_gate(0.29, None, POLICY)
    assert not verdict.passed
    assert "no champion yet" in verdict.message


def test_class_recall_names_the_class_that_dropped():
    champion = {"with_mask": 0.9, "without_mask": 0.8, "mask_weared_incorrect": 0.7}
    candidate = {"with_mask": 0.95, "without_mask": 0.70, "mask_weared_incorrect": 0.68}
    verdict = class_recall_gate(candidate, champion, POLICY)
    assert not verdict.passed
    assert "without_mask" in verdict.message
    assert "with_mask recall" not in verdict.message.replace("without_mask", "")
    assert class_recall_gate({**candidate, "without_mask": 0.76}, champion, POLICY).passed


def test_class_recall_skips_classes_without_ground_truth():
    champion = {"with_mask": 0.9, "mask_weared_incorrect": 0.7}
    candidate = {"with_mask": 0.9, "mask_weared_incorrect": None}
    assert class_recall_gate(candidate, champion, POLICY).passed


def test_class_recall_floor_without_champion():
    policy = GatePolicy(min_class_recall=0.5)
    assert not class_recall_gate({"with_mask": 0.4}, None, policy).passed
    assert class_recall_gate({"with_mask": 0.6}, None, policy).passed


def test_latency_budget():
    assert latency_gate(49.9, POLICY).passed
    assert not latency_gate(50.1, POLICY).passed
    unmeasured = latency_gate(None, POLICY)
    assert not unmeasured.passed and "not measured" in unmeasured.message


def test_policy_rejects_unknown_keys_and_bad_numbers():
    with pytest.raises(ValidationError, match="max_map_drop"):
        GatePolicy(max_map_drop=0.1)
    with pytest.raises(ValidationError):
        GatePolicy(max_map50_drop=-0.1)
