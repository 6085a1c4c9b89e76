"""The resources every asset shares, registered once for the whole code location.

Every setting has an environment variable (all optional; see ``ENV`` on each resource class):
``MASKOPS_HOME`` (root of every default),
``MASKOPS_STORE_KIND`` (local|s3), ``MASKOPS_STORE_ROOT``, ``MASKOPS_STORE_BUCKET``, ``MASKOPS_STORE_PREFIX``,
``MASKOPS_S3_ENDPOINT_URL``, ``MASKOPS_S3_REGION``,
``MLFLOW_TRACKING_URI``, ``MLFLOW_REGISTRY_URI``, ``MASKOPS_MLFLOW_ARTIFACTS``, ``MASKOPS_MLFLOW_UI_URL``,
``MASKOPS_DATASET_REPO``, ``MASKOPS_DVC_REMOTE``, ``MASKOPS_WORK_DIR``.
A variable that is set when the location loads is passed as ``dg.EnvVar``: Dagster reads its value
when a run starts, the UI shows where it came from, and secrets never land in run storage. One that
is unset is read when the resource is used, else the embedded default (under ``MASKOPS_HOME``) applies.
"""

import dagster as dg

from maskops_assets.resources import (
    DatasetRepoResource,
    MlflowResource,
    ObjectStoreResource,
    WorkDirResource,
)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resource dict for ``dg.Definitions``: ``dg.EnvVar`` for each variable set now."""
    return {
        "object_store": ObjectStoreResource.from_env(),
        "mlflow": MlflowResource.from_env(),
        "dataset_repo": DatasetRepoResource.from_env(),
        "work_dir": WorkDirResource.from_env(),
    }


@dg.definitions
def shared_resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
