"""The resources every asset shares, built once from the environment (defaults: one machine, var/).

Environment variables (all optional):
``MASKOPS_HOME`` (root of every default below),
``MASKOPS_STORE_KIND`` (local|s3), ``MASKOPS_STORE_ROOT``, ``MASKOPS_STORE_BUCKET``, ``MASKOPS_STORE_PREFIX``,
``MASKOPS_S3_ENDPOINT_URL``, ``MASKOPS_S3_REGION``,
``MLFLOW_TRACKING_URI``, ``MLFLOW_REGISTRY_URI``, ``MASKOPS_MLFLOW_ARTIFACTS``, ``MASKOPS_MLFLOW_UI_URL``,
``MASKOPS_DATASET_REPO``, ``MASKOPS_DVC_REMOTE``, ``MASKOPS_WORK_DIR``.
A variable that is set is passed as ``dg.EnvVar`` so the UI shows where a value came from and
secrets never land in run storage.
"""

from __future__ import annotations

import os

import dagster as dg

from maskops_assets.resources import (
    DatasetRepoResource,
    MlflowResource,
    ObjectStoreResource,
    WorkDirResource,
)


def _env(name: str, default: str | None = "") -> str | dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else default


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resource dict for ``dg.Definitions``, read from the environment now."""
    return {
        "object_store": ObjectStoreResource(
            kind=os.environ.get("MASKOPS_STORE_KIND", "local"),  # type: ignore[arg-type]
            root=_env("MASKOPS_STORE_ROOT"),
            bucket=_env("MASKOPS_STORE_BUCKET"),
            prefix=_env("MASKOPS_STORE_PREFIX"),
            endpoint_url=_env("MASKOPS_S3_ENDPOINT_URL", None),
            region=os.environ.get("MASKOPS_S3_REGION", "us-east-1"),
        ),
        "mlflow": MlflowResource(
            tracking_uri=_env("MLFLOW_TRACKING_URI"),
            registry_uri=_env("MLFLOW_REGISTRY_URI", None),
            artifact_location=_env("MASKOPS_MLFLOW_ARTIFACTS"),
            ui_url=_env("MASKOPS_MLFLOW_UI_URL", None),
        ),
        "dataset_repo": DatasetRepoResource(
            repo_dir=_env("MASKOPS_DATASET_REPO"), remote=_env("MASKOPS_DVC_REMOTE")
        ),
        "work_dir": WorkDirResource(root=_env("MASKOPS_WORK_DIR")),
    }
