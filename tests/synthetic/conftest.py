"""Small synthetic datasets shared by the tests of maskops_assets.synthetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskops_assets.synthetic.dataset import generate_dataset
from maskops_assets.synthetic.domain import SceneDomain

SMALL_SPLITS = {"train": 6, "val": 2, "test": 2}


@pytest.fixture(scope="module")
def small_splits() -> dict[str, int]:
    """How many images each split of ``small_dataset`` holds."""
    return dict(SMALL_SPLITS)


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-image, 96 px dataset in YOLO layout; returns its data.yaml."""
    out = tmp_path_factory.mktemp("scenes")
    return generate_dataset(
        out,
        sum(SMALL_SPLITS.values()),
        domain=SceneDomain.default(),
        seed=3,
        image_size=96,
        splits=SMALL_SPLITS,
    )
