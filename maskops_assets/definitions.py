"""The maskops Dagster code location: every ``maskops_assets/defs`` module merged, resources once.

Each domain module exports ``ASSETS``, ``CHECKS``, ``JOBS``, ``SENSORS`` and ``SCHEDULES``; adding a
module to ``DEFS_MODULES`` is all it takes to put it in the location. ``workspace.yaml`` loads this
module (``dagster dev`` or ``scripts/dagster-dev.sh``).
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

import dagster as dg

from maskops_assets.defs.resources import build_resources

log = logging.getLogger(__name__)

# Data side first, then the model side (training, evaluation, release) when it is installed.
DEFS_MODULES = (
    "maskops_assets.defs.ingest",
    "maskops_assets.defs.labels",
    "maskops_assets.defs.dataset",
    "maskops_assets.defs.training",
    "maskops_assets.defs.evaluation",
    "maskops_assets.defs.release",
)
_EXPORTS = ("ASSETS", "CHECKS", "JOBS", "SENSORS", "SCHEDULES")

# The whole graph after ingest: labels -> dataset -> model -> evaluation -> release. collected_frames
# is left out because it is partitioned per ingest batch (ingest_job runs it, one batch per run).
main_job = dg.define_asset_job(
    "maskops_main",
    selection=dg.AssetSelection.all() - dg.AssetSelection.keys("collected_frames"),
    description="Import reviewed labels, version the dataset, train, evaluate (gated) and release.",
)


def load_defs_modules(names: tuple[str, ...] = DEFS_MODULES) -> list[ModuleType]:
    """Import the domain modules that exist; a module that exists but fails to import is an error."""
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            log.warning("code location: %s is not present; its assets are left out", name)
    return modules


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """Merge every domain module's exports with the shared resources (from the environment by default)."""
    merged: dict[str, list] = {export: [] for export in _EXPORTS}
    for module in load_defs_modules():
        for export in _EXPORTS:
            merged[export].extend(getattr(module, export, []))
    return dg.Definitions(
        assets=merged["ASSETS"],
        asset_checks=merged["CHECKS"],
        jobs=[main_job, *merged["JOBS"]],
        sensors=merged["SENSORS"],
        schedules=merged["SCHEDULES"],
        resources=resources if resources is not None else build_resources(),
    )


defs = build_definitions()
