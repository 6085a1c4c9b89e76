"""The MLflow side of maskops: training runs, registered model versions and their aliases.

Everything goes through one ``MlflowClient`` (never mlflow's process-global "active run"), so a
Dagster step, an Optuna trial and a test can each log to their own run without stepping on each
other. A registered version carries the maskops ``model_version`` (the name cameras see) as a tag;
aliases say which version is the ``champion`` (what most cameras run) and the ``challenger``
(the canary). A version also carries the dataset it was trained on (``maskops.dataset_*`` tags, also
on its run), so a retrain on an unchanged dataset can be recognised and skipped.

Metric keys of a training run: the per-epoch curves are ``epoch_<name>`` at step = epoch
(``log_epoch``); the plain names (``map50``, ``map50_95``, ``precision``, ``recall``, ...) are logged
once, for the registered (best) weights, so the latest value of each key, which MLflow's run page
and ``search_runs`` show, is the registered model's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_VERSION_TAG = "maskops.model_version"
# the dataset a model was trained on, on its run and on its registered version
DATASET_VERSION_TAG = "maskops.dataset_version"
DATASET_GIT_REV_TAG = "maskops.dataset_git_rev"
DATASET_MD5_TAG = "maskops.dataset_dvc_md5"
DATASET_TAGS = (DATASET_VERSION_TAG, DATASET_GIT_REV_TAG, DATASET_MD5_TAG)
EPOCH_METRIC_PREFIX = "epoch_"
PARENT_RUN_TAG = "mlflow.parentRunId"  # how the MLflow UI nests a child run under its parent
_MAX_PARAM_LENGTH = 6000


class RegistryError(RuntimeError):
    """The registry is not in the state an operation needs; the message says which model/alias."""


@dataclass(frozen=True)
class RegisteredVersion:
    """One version of the registered model: registry number, its run, the maskops model_version."""

    name: str
    version: str
    run_id: str
    source: str
    model_version: str | None
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)


class ModelRegistry:
    """Runs and registered versions of one model in one MLflow experiment."""

    def __init__(self, client: MlflowClient, *, experiment_id: str, model_name: str) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.model_name = model_name

    @classmethod
    def for_experiment(
        cls,
        client: MlflowClient,
        experiment_name: str,
        model_name: str,
        *,
        artifact_location: str | None = None,
    ) -> ModelRegistry:
        """The registry for ``experiment_name``, creating the experiment when it does not exist yet."""
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            experiment_id = client.create_experiment(experiment_name, artifact_location=artifact_location)
        else:
            experiment_id = experiment.experiment_id
        return cls(client, experiment_id=experiment_id, model_name=model_name)

    # runs -----------------------------------------------------------------------------------
    def start_run(
        self, run_name: str, *, parent_run_id: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Open a run (nested under ``parent_run_id`` if given) and return its id."""
        all_tags = dict(tags or {})
        if parent_run_id:
            all_tags[PARENT_RUN_TAG] = parent_run_id
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=all_tags)
        return run.info.run_id

    @contextmanager
    def run(
        self, run_name: str, *, parent_run_id: str | None = None, tags: Mapping[str, str] | None = None
    ) -> Iterator[str]:
        """A run that ends FINISHED when the block exits normally and FAILED when it raises."""
        run_id = self.start_run(run_name, parent_run_id=parent_run_id, tags=tags)
        try:
            yield run_id
        except BaseException:
            self.client.set_terminated(run_id, status="FAILED")
            raise
        self.client.set_terminated(run_id, status="FINISHED")

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        batch = [Param(key, _param_text(value)) for key, value in params.items()]
        if batch:
            self.client.log_batch(run_id, params=batch)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        """Log finite numbers only (MLflow rejects NaN in some stores, and NaN is no measurement)."""
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        batch = [
            Metric(_metric_key(key), float(value), now, step or 0)
            for key, value in metrics.items()
            if isinstance(value, int | float) and math.isfinite(float(value))
        ]
        if batch:
            self.client.log_batch(run_id, metrics=batch)

    def log_epoch(self, run_id: str, epoch: int, metrics: Mapping[str, float]) -> None:
        """One epoch's figures as ``epoch_<name>`` at step ``epoch``: the training curves, under keys
        of their own so that they never hide the summary figures logged under the plain names."""
        self.log_metrics(run_id, {f"{EPOCH_METRIC_PREFIX}{k}": v for k, v in metrics.items()}, step=epoch)

    def log_artifact(self, run_id: str, path: Path | str, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(run_id, key, str(value))

    def download_artifact(self, run_id: str, artifact_path: str, dst_dir: Path) -> Path:
        dst_dir.mkdir(parents=True, exist_ok=True)
        return Path(self.client.download_artifacts(run_id, artifact_path, str(dst_dir)))

    # registered versions ----------------------------------------------------------------------
    def register(
        self,
        run_id: str,
        artifact_path: str = "model",
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredVersion:
        """Register ``artifact_path`` of ``run_id`` as a new version (creating the model if needed)."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.model_name)
        except MlflowException:
            self.client.create_registered_model(
                self.model_name,
                description="maskops face-mask detector (with_mask, without_mask, mask_weared_incorrect)",
            )
        run = self.client.get_run(run_id)
        created = self.client.create_model_version(
            self.model_name,
            source=f"{run.info.artifact_uri.rstrip('/')}/{artifact_path}",
            run_id=run_id,
            tags={key: str(value) for key, value in (tags or {}).items()},
            description=description,
        )
        return self._version(created)

    def tag_model_version(self, version: str, model_version: str) -> None:
        """Record the maskops ``model_version`` (the id cameras and the store use) on a registry version."""
        self.client.set_model_version_tag(self.model_name, str(version), MODEL_VERSION_TAG, model_version)

    def find_by_model_version(self, model_version: str) -> RegisteredVersion | None:
        """The registry version tagged with maskops ``model_version``, or None."""
        found = self.client.search_model_versions(
            f"name='{self.model_name}' and tags.`{MODEL_VERSION_TAG}`='{model_version}'"
        )
        return self._version(found[0]) if found else None

    def latest_trained(self) -> RegisteredVersion | None:
        """The newest registered version whose training run finished, or None.

        A version whose run FAILED (registered, then the export or the upload failed) never
        became a usable model, so it does not count.
        """
        found = self.client.search_model_versions(f"name='{self.model_name}'")
        for mv in sorted(found, key=lambda mv: int(mv.version), reverse=True):
            if mv.run_id and self.client.get_run(mv.run_id).info.status == "FINISHED":
                return self._version(mv)
        return None

    def trained_on(self, version: RegisteredVersion) -> dict[str, str]:
        """The dataset tags (``DATASET_TAGS``) of ``version``: from the version, else from its run
        (versions registered before the tags were copied onto them have them on the run only)."""
        tags = {k: v for k, v in version.tags.items() if k in DATASET_TAGS}
        if DATASET_VERSION_TAG not in tags and version.run_id:
            run_tags = self.client.get_run(version.run_id).data.tags
            tags = {k: v for k, v in run_tags.items() if k in DATASET_TAGS}
        return tags

    # aliases ---------------------------------------------------------------------------------
    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(self.model_name, alias, str(version))

    def delete_alias(self, alias: str) -> None:
        """Remove ``alias``; removing one that is not set is not an error (the state is what was asked)."""
        if self.alias_version(alias) is not None:
            self.client.delete_registered_model_alias(self.model_name, alias)

    def alias_version(self, alias: str) -> RegisteredVersion | None:
        """The version behind ``@alias``, or None when the alias (or the whole model) does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return self._version(self.client.get_model_version_by_alias(self.model_name, alias))
        except MlflowException as err:
            if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") or "not found" in str(
                err
            ):
                return None
            raise

    def _version(self, mv: Any) -> RegisteredVersion:
        return RegisteredVersion(
            name=mv.name,
            version=str(mv.version),
            run_id=mv.run_id or "",
            source=mv.source or "",
            model_version=(mv.tags or {}).get(MODEL_VERSION_TAG),
            aliases=tuple(getattr(mv, "aliases", None) or ()),
            tags=dict(mv.tags or {}),
        )


def _param_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_PARAM_LENGTH else text[: _MAX_PARAM_LENGTH - 3] + "..."


def _metric_key(key: str) -> str:
    # MLflow keys allow letters, digits, _ - . / and spaces; ultralytics' "(B)" suffixes are not.
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in key)
