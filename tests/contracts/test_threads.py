"""MASKOPS_THREADS: one default thread count for the edge detector and the trainer."""

import os

import pytest

from maskops_contracts.errors import ContractError
from maskops_contracts.threads import default_threads


def test_every_core_unless_maskops_threads_says_otherwise(monkeypatch):
    monkeypatch.delenv("MASKOPS_THREADS", raising=False)
    assert default_threads() == (os.cpu_count() or 1)
    monkeypatch.setenv("MASKOPS_THREADS", "3")
    assert default_threads() == 3
    from edge_agent.detector import DetectorConfig

    assert DetectorConfig().threads == 3 and DetectorConfig(threads=1).threads == 1  # explicit wins


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5"])
def test_a_bad_value_names_the_setting(monkeypatch, raw):
    monkeypatch.setenv("MASKOPS_THREADS", raw)
    with pytest.raises(ContractError, match="MASKOPS_THREADS"):
        default_threads()
