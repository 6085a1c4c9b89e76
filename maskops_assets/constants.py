"""Constants every Dagster defs module shares (one place, so no defs module imports another for them)."""

#: Owner of every maskops asset, shown in the Dagster UI.
OWNER = "team:maskops"

#: Name of the code location (``workspace.yaml`` and ``[tool.dg.project]`` in pyproject.toml).
CODE_LOCATION = "maskops"

#: The retraining job (labels -> dataset -> model -> gate -> release): every trigger launches it.
RETRAIN_JOB = "maskops_main"

#: Run tags every automatic trigger sets, so the UI says which trigger started a run and why.
TRIGGER_TAG = "maskops/trigger"
TRIGGER_REASON_TAG = "maskops/trigger_reason"

#: On every retraining run: deploy/production/dagster.yaml allows one run with it at a time.
TRAINING_KIND_TAG = "maskops/kind"
