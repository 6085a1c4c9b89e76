"""Dagster resources: the object store, MLflow, the DVC dataset repo and a work directory.

Each is a typed ``ConfigurableResource`` whose defaults run on one machine under ``MASKOPS_HOME``
(``<repo>/var`` unless set); ``maskops_assets/defs/resources.py`` builds them once from the
environment. The resources only hold configuration; ``open()``/``client()`` hand out the plain
objects the rest of the code works with, so that code stays free of Dagster.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dagster as dg
from pydantic import Field

from maskops_assets.store import LocalObjectStore, ObjectStore, S3ObjectStore
from maskops_assets.versioning.dvc_repo import DatasetRepo

if TYPE_CHECKING:
    import mlflow

    from maskops_assets.tracking.registry import ModelRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MLFLOW_UI = "http://127.0.0.1:5000"


def maskops_home() -> Path:
    """Where every embedded default lives: ``$MASKOPS_HOME``, else ``<repo>/var``."""
    return Path(os.environ.get("MASKOPS_HOME") or REPO_ROOT / "var").resolve()


class ObjectStoreResource(dg.ConfigurableResource):
    """The object store the cameras write to: a local directory (``kind="local"``) or an S3 bucket."""

    kind: Literal["local", "s3"] = Field(default="local", description="'local' (a directory) or 's3'.")
    root: str = Field(default="", description="Directory of the local store; empty: $MASKOPS_HOME/store.")
    bucket: str = Field(default="", description="S3 bucket (kind='s3').")
    prefix: str = Field(default="", description="Key prefix inside the bucket (kind='s3').")
    endpoint_url: str | None = Field(default=None, description="S3 endpoint, e.g. MinIO; None: AWS.")
    region: str = Field(default="us-east-1", description="S3 region.")

    def open(self) -> ObjectStore:
        if self.kind == "s3":
            if not self.bucket:
                raise ValueError(
                    "ObjectStoreResource kind='s3' needs a bucket: set MASKOPS_STORE_BUCKET "
                    "(or the resource's 'bucket' config)"
                )
            return S3ObjectStore(self.bucket, self.prefix, self.endpoint_url, self.region)
        return LocalObjectStore(Path(self.root) if self.root else maskops_home() / "store")


class MlflowResource(dg.ConfigurableResource):
    """Where training runs and registered models are tracked.

    A thin wrapper around ``mlflow.MlflowClient`` rather than dagster-mlflow's ``mlflow_tracking``:
    that resource opens an MLflow run when it is initialised and only closes it through a job-level
    hook, so asset materializations leave runs RUNNING under the name of Dagster's asset job
    (``tests/platform/test_resources.py`` shows it). maskops opens exactly one run per training
    itself and names it.
    """

    tracking_uri: str = Field(default="", description="Empty: sqlite:///$MASKOPS_HOME/mlflow/mlflow.db.")
    registry_uri: str | None = Field(default=None, description="None: the tracking URI.")
    artifact_location: str = Field(
        default="",
        description="Artifact root of a newly created experiment; empty: $MASKOPS_HOME/mlflow/artifacts.",
    )
    experiment_name: str = "maskops"
    model_name: str = "maskops-detector"
    ui_url: str | None = Field(
        default=None, description=f"Base URL of the MLflow UI for links; None: {DEFAULT_MLFLOW_UI}."
    )

    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        db = maskops_home() / "mlflow" / "mlflow.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{db}"

    def resolved_artifact_location(self) -> str:
        if self.artifact_location:
            return self.artifact_location
        return (maskops_home() / "mlflow" / "artifacts").as_uri()

    def client(self) -> mlflow.MlflowClient:
        import mlflow

        return mlflow.MlflowClient(
            tracking_uri=self.resolved_tracking_uri(),
            registry_uri=self.registry_uri or self.resolved_tracking_uri(),
        )

    def registry(self) -> ModelRegistry:
        """The model's runs and versions in this experiment, which is created when missing with
        our artifact root (MLflow's default would be ./mlruns in whatever the CWD is)."""
        from maskops_assets.tracking.registry import ModelRegistry

        return ModelRegistry.for_experiment(
            self.client(),
            self.experiment_name,
            self.model_name,
            artifact_location=self.resolved_artifact_location(),
        )

    def ui_base(self) -> str:
        return (self.ui_url or DEFAULT_MLFLOW_UI).rstrip("/")

    def run_url(self, run_id: str) -> str:
        """The MLflow UI page of a run (the UI must be started on ``ui_url`` to follow it)."""
        experiment_id = self.client().get_run(run_id).info.experiment_id
        return f"{self.ui_base()}/#/experiments/{experiment_id}/runs/{run_id}"

    def model_version_url(self, version: str | int) -> str:
        """The MLflow UI page of a registered model version."""
        return f"{self.ui_base()}/#/models/{self.model_name}/versions/{version}"


class DatasetRepoResource(dg.ConfigurableResource):
    """The git + DVC repository that versions the labeled dataset, with its DVC remote."""

    repo_dir: str = Field(default="", description="Empty: $MASKOPS_HOME/dataset_repo.")
    remote: str = Field(
        default="", description="DVC remote URL or directory; empty: $MASKOPS_HOME/dvc_remote."
    )

    def open(self) -> DatasetRepo:
        home = maskops_home()
        repo_dir = Path(self.repo_dir) if self.repo_dir else home / "dataset_repo"
        remote = self.remote or str(home / "dvc_remote")
        return DatasetRepo(repo_dir, remote)


class WorkDirResource(dg.ConfigurableResource):
    """Scratch space for checkouts, training runs and exports."""

    root: str = Field(default="", description="Empty: $MASKOPS_HOME/work.")

    def base(self) -> Path:
        return Path(self.root).resolve() if self.root else maskops_home() / "work"

    def path(self, *parts: str) -> Path:
        """``root/parts...``; its parent directories exist afterwards."""
        target = self.base().joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def dir(self, *parts: str) -> Path:
        """``root/parts...`` as a directory that exists afterwards."""
        target = self.base().joinpath(*parts)
        target.mkdir(parents=True, exist_ok=True)
        return target
