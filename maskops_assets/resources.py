"""Dagster resources: the object store, MLflow, the DVC dataset repo and a work directory.

Each is a typed ``ConfigurableResource`` whose defaults run on one machine under ``MASKOPS_HOME``
(``<repo>/var`` unless set). Every setting has an environment variable (``ENV`` on each class):
``maskops_assets/defs/resources.py`` passes the ones set when the code location loads as
``dg.EnvVar``, which Dagster resolves when a run starts; a setting left empty is read from its
variable when the resource is used, and falls back to the embedded default when that is unset. So a
deployment's environment is read at run time, never frozen at import.

The resources only hold configuration; ``open()``/``client()`` hand out the plain objects the rest
of the code works with, so that code stays free of Dagster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import dagster as dg
from pydantic import Field

from maskops_assets.store import LocalObjectStore, ObjectStore, S3ObjectStore
from maskops_assets.versioning.dvc_repo import DatasetRepo

if TYPE_CHECKING:
    import mlflow

    from maskops_assets.tracking.registry import ModelRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MLFLOW_UI = "http://127.0.0.1:5000"
STORE_KINDS = ("local", "s3")


def maskops_home() -> Path:
    """Where every embedded default lives: ``$MASKOPS_HOME``, else ``<repo>/var`` (read on each call)."""
    return Path(os.environ.get("MASKOPS_HOME") or REPO_ROOT / "var").resolve()


class _EnvConfigured(dg.ConfigurableResource):
    """A resource whose empty settings are read from the environment when it is used."""

    #: setting -> environment variable that supplies it when the setting is empty
    ENV: ClassVar[dict[str, str]] = {}

    def setting(self, name: str, default: str | None = "") -> str | None:
        """The configured value of ``name``; if empty, ``$ENV[name]`` as it is now; else ``default``."""
        value = getattr(self, name)
        if isinstance(value, dg.EnvVar):  # used outside a run, where Dagster has not resolved it
            value = value.get_value()
        if value:
            return value
        return os.environ.get(self.ENV[name]) or default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None):
        """This resource with ``dg.EnvVar`` for each variable set in ``environ`` (default
        ``os.environ``): Dagster reads its value when a run starts, and the UI shows where it came
        from. Settings whose variable is unset stay empty and are read when used."""
        environ = os.environ if environ is None else environ
        return cls(**{name: dg.EnvVar(env) for name, env in cls.ENV.items() if environ.get(env)})


class ObjectStoreResource(_EnvConfigured):
    """The object store the cameras write to: a local directory (``kind="local"``) or an S3 bucket."""

    ENV: ClassVar[dict[str, str]] = {
        "kind": "MASKOPS_STORE_KIND",
        "root": "MASKOPS_STORE_ROOT",
        "bucket": "MASKOPS_STORE_BUCKET",
        "prefix": "MASKOPS_STORE_PREFIX",
        "endpoint_url": "MASKOPS_S3_ENDPOINT_URL",
        "region": "MASKOPS_S3_REGION",
    }

    # a plain str, not a Literal: a Literal field cannot take a dg.EnvVar (checked in open())
    kind: str = Field(
        default="", description="'local' (a directory) or 's3'; empty: $MASKOPS_STORE_KIND, else 'local'."
    )
    root: str = Field(
        default="",
        description="Directory of the local store; empty: $MASKOPS_STORE_ROOT, else $MASKOPS_HOME/store.",
    )
    bucket: str = Field(default="", description="S3 bucket (kind='s3'); empty: $MASKOPS_STORE_BUCKET.")
    prefix: str = Field(
        default="",
        description="Key prefix inside the bucket or directory (the edge's store.prefix must match); "
        "empty: $MASKOPS_STORE_PREFIX.",
    )
    endpoint_url: str | None = Field(
        default=None, description="S3 endpoint, e.g. MinIO; None: $MASKOPS_S3_ENDPOINT_URL, else AWS."
    )
    region: str = Field(default="", description="S3 region; empty: $MASKOPS_S3_REGION, else us-east-1.")

    def open(self) -> ObjectStore:
        kind = self.setting("kind", "local")
        if kind not in STORE_KINDS:
            raise ValueError(
                f"ObjectStoreResource kind must be one of {STORE_KINDS}, got {kind!r} "
                "(the resource's 'kind' config or MASKOPS_STORE_KIND)"
            )
        if kind == "s3":
            bucket = self.setting("bucket")
            if not bucket:
                raise ValueError(
                    "ObjectStoreResource kind='s3' needs a bucket: set MASKOPS_STORE_BUCKET "
                    "(or the resource's 'bucket' config)"
                )
            return S3ObjectStore(
                bucket,
                self.setting("prefix"),
                self.setting("endpoint_url", None),
                self.setting("region", "us-east-1"),
            )
        root = self.setting("root")
        return LocalObjectStore(Path(root) if root else maskops_home() / "store", self.setting("prefix"))


class MlflowResource(_EnvConfigured):
    """Where training runs and registered models are tracked.

    A thin wrapper around ``mlflow.MlflowClient`` rather than dagster-mlflow's ``mlflow_tracking``:
    that resource opens an MLflow run when it is initialised and only closes it through a job-level
    hook, so asset materializations leave runs RUNNING under the name of Dagster's asset job
    (``tests/platform/test_resources.py`` shows it). maskops opens exactly one run per training
    itself and names it.
    """

    ENV: ClassVar[dict[str, str]] = {
        "tracking_uri": "MLFLOW_TRACKING_URI",
        "registry_uri": "MLFLOW_REGISTRY_URI",
        "artifact_location": "MASKOPS_MLFLOW_ARTIFACTS",
        "ui_url": "MASKOPS_MLFLOW_UI_URL",
    }

    tracking_uri: str = Field(
        default="",
        description="Empty: $MLFLOW_TRACKING_URI, else sqlite:///$MASKOPS_HOME/mlflow/mlflow.db.",
    )
    registry_uri: str | None = Field(
        default=None, description="None: $MLFLOW_REGISTRY_URI, else the tracking URI."
    )
    artifact_location: str = Field(
        default="",
        description="Artifact root of a newly created experiment; empty: $MASKOPS_MLFLOW_ARTIFACTS, "
        "else $MASKOPS_HOME/mlflow/artifacts.",
    )
    experiment_name: str = "maskops"
    model_name: str = "maskops-detector"
    ui_url: str | None = Field(
        default=None,
        description="Base URL of the MLflow UI for links; None: $MASKOPS_MLFLOW_UI_URL, "
        f"else {DEFAULT_MLFLOW_UI}.",
    )

    def resolved_tracking_uri(self) -> str:
        configured = self.setting("tracking_uri")
        if configured:
            return configured
        db = maskops_home() / "mlflow" / "mlflow.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{db}"

    def resolved_artifact_location(self) -> str:
        return self.setting("artifact_location") or (maskops_home() / "mlflow" / "artifacts").as_uri()

    def client(self) -> mlflow.MlflowClient:
        import mlflow

        return mlflow.MlflowClient(
            tracking_uri=self.resolved_tracking_uri(),
            registry_uri=self.setting("registry_uri", None) or self.resolved_tracking_uri(),
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
        return (self.setting("ui_url", None) or DEFAULT_MLFLOW_UI).rstrip("/")

    def run_url(self, run_id: str) -> str:
        """The MLflow UI page of a run (the UI must be started on ``ui_url`` to follow it)."""
        experiment_id = self.client().get_run(run_id).info.experiment_id
        return f"{self.ui_base()}/#/experiments/{experiment_id}/runs/{run_id}"

    def artifact_url(self, run_id: str, artifact_path: str) -> str:
        """The MLflow UI page that shows one artifact of a run (an image is previewed there)."""
        return f"{self.run_url(run_id)}/artifactPath/{artifact_path.lstrip('/')}"

    def model_version_url(self, version: str | int) -> str:
        """The MLflow UI page of a registered model version."""
        return f"{self.ui_base()}/#/models/{self.model_name}/versions/{version}"


class DatasetRepoResource(_EnvConfigured):
    """The git + DVC repository that versions the labeled dataset, with its DVC remote."""

    ENV: ClassVar[dict[str, str]] = {"repo_dir": "MASKOPS_DATASET_REPO", "remote": "MASKOPS_DVC_REMOTE"}

    repo_dir: str = Field(
        default="", description="Empty: $MASKOPS_DATASET_REPO, else $MASKOPS_HOME/dataset_repo."
    )
    remote: str = Field(
        default="",
        description="DVC remote URL or directory; empty: $MASKOPS_DVC_REMOTE, else $MASKOPS_HOME/dvc_remote.",
    )

    def open(self) -> DatasetRepo:
        home = maskops_home()
        repo_dir = self.setting("repo_dir")
        remote = self.setting("remote") or str(home / "dvc_remote")
        return DatasetRepo(Path(repo_dir) if repo_dir else home / "dataset_repo", remote)


class WorkDirResource(_EnvConfigured):
    """Scratch space for checkouts, training runs and exports."""

    ENV: ClassVar[dict[str, str]] = {"root": "MASKOPS_WORK_DIR"}

    root: str = Field(default="", description="Empty: $MASKOPS_WORK_DIR, else $MASKOPS_HOME/work.")

    def base(self) -> Path:
        root = self.setting("root")
        return Path(root).resolve() if root else maskops_home() / "work"

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


class RetrainPolicyResource(dg.ConfigurableResource):
    """When the retraining triggers fire (``maskops_assets.triggers.RetrainPolicy``).

    A setting left None is read from its environment variable on every sensor tick (``POLICY_ENV``:
    ``MASKOPS_LABEL_THRESHOLD``, ``MASKOPS_DRIFT_THRESHOLD``, ``MASKOPS_DRIFT_KEY_FEATURE_P``,
    ``MASKOPS_DRIFT_KEY_FEATURES``, ``MASKOPS_MIN_LABELS_ON_DRIFT``, ``MASKOPS_RETRAIN_COOLDOWN_S``,
    ``MASKOPS_WEEKLY_MIN_SAMPLES``), else the default; see docs/triggers.md.
    """

    label_threshold: int | None = Field(
        default=None, description="New reviewed images that retrain (50; 0 off)."
    )
    drift_threshold: float | None = Field(default=None, description="Drift share that fires (0.3).")
    key_feature_p_value: float | None = Field(
        default=None, description="A key feature's p-value under this fires (0.05)."
    )
    key_features: list[str] | None = Field(
        default=None, description="Telemetry columns whose p-value can fire (brightness, blur, ...)."
    )
    min_labels_on_drift: int | None = Field(default=None, description="New images drift needs (10).")
    cooldown_s: float | None = Field(default=None, description="Seconds after a retraining ends (3600).")
    weekly_min_samples: int | None = Field(default=None, description="New samples weekly needs (100).")

    def policy(self):
        """The ``RetrainPolicy`` now: these settings, else the environment, else the defaults."""
        from maskops_assets.triggers.policy import RetrainPolicy

        return RetrainPolicy.from_env(**self.model_dump())


#: ``MASKOPS_IO_MANAGER`` values: ``fs`` (Dagster's default, files under DAGSTER_HOME) or ``s3``.
IO_MANAGER_KINDS = ("fs", "s3")
#: The S3 IO manager's settings -> the environment variable that supplies each.
IO_MANAGER_ENV = {
    "kind": "MASKOPS_IO_MANAGER",
    "bucket": "MASKOPS_IO_BUCKET",
    "prefix": "MASKOPS_IO_PREFIX",
    "endpoint_url": "MASKOPS_S3_ENDPOINT_URL",
    "region": "MASKOPS_S3_REGION",
}


def io_manager_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dg.ConfigurableIOManager]:
    """``{"io_manager": ...}`` for ``MASKOPS_IO_MANAGER=s3`` (asset values pickled to
    ``s3://$MASKOPS_IO_BUCKET/$MASKOPS_IO_PREFIX``, endpoint ``$MASKOPS_S3_ENDPOINT_URL``); ``{}``
    when it is unset or ``fs``, so Dagster's default filesystem IO manager applies.

    Like the other resources, each variable set now is passed as ``dg.EnvVar`` (read when a run starts).
    """
    environ = os.environ if environ is None else environ
    kind = environ.get(IO_MANAGER_ENV["kind"]) or "fs"
    if kind not in IO_MANAGER_KINDS:
        raise ValueError(f"{IO_MANAGER_ENV['kind']} must be one of {IO_MANAGER_KINDS}, got {kind!r}")
    if kind == "fs":
        return {}
    if not environ.get(IO_MANAGER_ENV["bucket"]):
        raise ValueError(f"{IO_MANAGER_ENV['kind']}=s3 needs a bucket: set {IO_MANAGER_ENV['bucket']}")
    from dagster_aws.s3 import S3PickleIOManager, S3Resource

    def env(name: str) -> dg.EnvVar | None:
        return dg.EnvVar(IO_MANAGER_ENV[name]) if environ.get(IO_MANAGER_ENV[name]) else None

    s3 = S3Resource(endpoint_url=env("endpoint_url"), region_name=env("region"))
    return {
        "io_manager": S3PickleIOManager(
            s3_resource=s3, s3_bucket=env("bucket"), s3_prefix=env("prefix") or "dagster/io"
        )
    }


class LabelStudioResource(_EnvConfigured):
    """The Label Studio server reviewers work in. No URL (config or ``$LABEL_STUDIO_URL``): Label
    Studio is off, and the assets say so instead of failing.

    ``api_key`` is a personal access token (the default kind since Label Studio 1.17) or a legacy
    token; the client tells them apart and names the kind in any error.
    """

    ENV: ClassVar[dict[str, str]] = {
        "url": "LABEL_STUDIO_URL",
        "api_key": "LABEL_STUDIO_API_KEY",
        "project_title": "MASKOPS_LABEL_STUDIO_PROJECT",
        "document_root": "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT",
        "presign_expires_s": "MASKOPS_LABEL_STUDIO_PRESIGN_S",
    }

    url: str = Field(
        default="", description="e.g. http://127.0.0.1:8080; empty: $LABEL_STUDIO_URL, else off."
    )
    api_key: str = Field(
        default="", description="Personal access token or legacy token; empty: $LABEL_STUDIO_API_KEY."
    )
    project_title: str = Field(
        default="", description="Project maskops creates and uses; empty: $MASKOPS_LABEL_STUDIO_PROJECT, "
        "else 'maskops review'."
    )
    document_root: str = Field(
        default="",
        description="The server's LOCAL_FILES_DOCUMENT_ROOT (local store only); empty: "
        "$LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT, else the store's root directory.",
    )
    presign_expires_s: str = Field(
        default="",
        description="Lifetime of presigned image URLs (S3 store) in seconds; empty: "
        "$MASKOPS_LABEL_STUDIO_PRESIGN_S, else 604800 (7 days, the most S3 allows).",
    )

    def enabled(self) -> bool:
        return bool(self.setting("url"))

    def title(self) -> str:
        from maskops_assets.labelstudio import DEFAULT_PROJECT_TITLE

        return self.setting("project_title") or DEFAULT_PROJECT_TITLE

    def client(self):
        """A ``LabelStudioClient``; a ValueError naming LABEL_STUDIO_URL when Label Studio is off."""
        from maskops_assets.labelstudio import LabelStudioClient

        if not self.enabled():
            raise ValueError("Label Studio is off: set LABEL_STUDIO_URL (and LABEL_STUDIO_API_KEY)")
        return LabelStudioClient(self.setting("url"), self.setting("api_key"))

    def linker(self, store: ObjectStore):
        """How tasks refer to the frames in ``store`` (local file serving or presigned URLs)."""
        from maskops_assets.labelstudio import ImageLinker
        from maskops_assets.labelstudio.images import MAX_PRESIGN_S

        raw = self.setting("presign_expires_s")
        try:
            expires = int(raw) if raw else MAX_PRESIGN_S
        except ValueError:
            raise ValueError(
                f"LabelStudioResource presign_expires_s must be whole seconds, got {raw!r} "
                "(the resource's config or MASKOPS_LABEL_STUDIO_PRESIGN_S)"
            ) from None
        root = self.setting("document_root")
        return ImageLinker(store, Path(root) if root else None, expires)
