"""Constants every Dagster defs module shares (one place, so no defs module imports another for them)."""

#: Owner of every maskops asset, shown in the Dagster UI.
OWNER = "team:maskops"

#: Name of the code location (``workspace.yaml`` and ``[tool.dg.project]`` in pyproject.toml).
CODE_LOCATION = "maskops"
