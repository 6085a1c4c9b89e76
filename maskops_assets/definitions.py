"""The maskops Dagster code location, loaded the standard way: Dagster's defs folder.

``[tool.dg.project]`` in pyproject.toml names ``maskops_assets`` as the project's root module and
``maskops_assets.defs`` as its defs module. ``dg.load_from_defs_folder`` imports every module in that
folder and collects the assets, asset checks, jobs, sensors and schedules each defines at module
level, plus the shared resources ``defs/resources.py`` registers once. A defs module that fails to
import (a renamed module, a missing dependency) fails the load; nothing is left out silently.

``workspace.yaml`` (``dagster dev -w workspace.yaml``, ``scripts/dagster-dev.sh``) loads ``defs``
here, as does a plain ``dagster dev`` in the repository root (through ``[tool.dg.project]``).
"""

from pathlib import Path

import dagster as dg

#: The directory holding pyproject.toml with ``[tool.dg]`` (the source checkout; install it editable).
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dg.definitions
def defs() -> dg.Definitions:
    """Everything in ``maskops_assets/defs``, with the resources read from the environment."""
    return dg.load_from_defs_folder(path_within_project=PROJECT_ROOT)


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """The code location's definitions; ``resources`` (when given) replace the shared ones."""
    loaded = defs()
    if resources is None:
        return loaded
    return dg.Definitions(
        assets=loaded.assets,
        asset_checks=loaded.asset_checks,
        jobs=loaded.jobs,
        sensors=loaded.sensors,
        schedules=loaded.schedules,
        loggers=loaded.loggers,
        executor=loaded.executor,
        metadata=loaded.metadata,
        resources=resources,
    )
