"""Fixtures of the demo tests: a real SQLite Dagster instance in a temporary DAGSTER_HOME."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest


@pytest.fixture
def dagster_instance(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance
