"""Fixtures for the dataset tests; the builders live in dataset_builders.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import build_sample_set

from maskops_assets.datasets.annotations import AnnotationSet


@pytest.fixture
def sample_set(tmp_path: Path) -> AnnotationSet:
    return build_sample_set(tmp_path / "source_images")
