"""Fixtures of the retraining-trigger tests (the builders live in trigger_builders.py): a local
store, a real SQLite Dagster instance in a temporary DAGSTER_HOME, the sensors' resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from trigger_builders import LabelFactory

from maskops_assets.resources import ObjectStoreResource, RetrainPolicyResource
from maskops_assets.store import LocalObjectStore


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_root: Path) -> LocalObjectStore:
    return LocalObjectStore(store_root)


@pytest.fixture
def instance(tmp_path: Path):
    """A real, SQLite-backed Dagster instance in a temporary DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


@pytest.fixture
def resources(store_root: Path):
    """A factory: the sensors' resources on the test store, with policy settings pinned."""

    def make(**policy) -> dict:
        return {
            "object_store": ObjectStoreResource(kind="local", root=str(store_root)),
            "retrain_policy": RetrainPolicyResource(**policy),
        }

    return make


@pytest.fixture
def labels(store: LocalObjectStore, tmp_path: Path) -> LabelFactory:
    return LabelFactory(store, tmp_path / "label_work")
