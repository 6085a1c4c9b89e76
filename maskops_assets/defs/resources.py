"""The resources every asset shares, registered once for the whole code location.

Every setting has an environment variable (all optional; see ``ENV`` on each resource class):
``MASKOPS_HOME`` (root of every default),
``MASKOPS_STORE_KIND`` (local|s3), ``MASKOPS_STORE_ROOT``, ``MASKOPS_STORE_BUCKET``, ``MASKOPS_STORE_PREFIX``,
``MASKOPS_S3_ENDPOINT_URL``, ``MASKOPS_S3_REGION``,
``MLFLOW_TRACKING_URI``, ``MLFLOW_REGISTRY_URI``, ``MASKOPS_MLFLOW_ARTIFACTS``, ``MASKOPS_MLFLOW_UI_URL``,
``MASKOPS_DATASET_REPO``, ``MASKOPS_DVC_REMOTE``, ``MASKOPS_WORK_DIR``,
``MASKOPS_IO_MANAGER`` (fs|s3: asset values in S3, with ``MASKOPS_IO_BUCKET``, ``MASKOPS_IO_PREFIX``).
A variable that is set when the location loads is passed as ``dg.EnvVar``: Dagster reads its value
when a run starts, the UI shows where it came from, and secrets never land in run storage. One that
is unset is read when the resource is used, else the embedded default (under ``MASKOPS_HOME``) applies.
"""

import dagster as dg

from maskops_assets.resources import (
    DatasetRepoResource,
    LabelStudioResource,
    MlflowResource,
    ObjectStoreResource,
    RetrainPolicyResource,
    WorkDirResource,
    io_manager_from_env,
)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resource dict for ``dg.Definitions``: ``dg.EnvVar`` for each variable set now."""
    return {
        "object_store": ObjectStoreResource.from_env(),
        "mlflow": MlflowResource.from_env(),
        "dataset_repo": DatasetRepoResource.from_env(),
        "work_dir": WorkDirResource.from_env(),
        "label_studio": LabelStudioResource.from_env(),  # off unless LABEL_STUDIO_URL is set
        # MASKOPS_IO_MANAGER=s3: asset values in S3 (the production profile); unset: Dagster's default
        **io_manager_from_env(),
        "retrain_policy": RetrainPolicyResource(),  # every setting read from MASKOPS_* at each tick
    }


@dg.definitions
def shared_resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
