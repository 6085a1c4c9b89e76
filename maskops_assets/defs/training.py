"""``trained_model``: train (optionally after an Optuna search), track in MLflow, register, export.

One MLflow run per materialization holds the params (the requested ones and the optimizer and
learning rate ultralytics actually used), the per-epoch curves (``epoch_map50``, ... at step = epoch),
the registered weights' figures under the plain names (``map50``, ``map50_95``, ``precision``,
``recall``: the run's summary is the registered model's) and artifacts (weights, ONNX,
metadata.json); search trials are nested runs under it. The model is registered as a new version
whose number names the ``model_version`` cameras see, exported to ONNX and published to the store
under ``models/<model_version>/``.

A dataset version the latest registered model was already trained on is not trained on again
(unless ``force``): the asset then yields nothing, logs why, and the downstream evaluation and
release are skipped in that run.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field, create_model

from maskops_assets.constants import OWNER
from maskops_assets.lineage import LabeledDatasetVersion, TrainedModel
from maskops_assets.release.publish import publish_model
from maskops_assets.resources import MlflowResource, ObjectStoreResource, WorkDirResource
from maskops_assets.tracking.registry import (
    CHAMPION,
    DATASET_GIT_REV_TAG,
    DATASET_MD5_TAG,
    DATASET_VERSION_TAG,
    MODEL_VERSION_TAG,
    ModelRegistry,
    RegisteredVersion,
)
from maskops_assets.training.export import MODEL_PT, export_onnx
from maskops_assets.training.quantize import quantize_release
from maskops_assets.training.search import SearchConfig, search_hyperparameters
from maskops_assets.training.trainer import EpochProgress, TrainConfig, train_detector

# Every TrainConfig knob becomes a launchpad field with the same type, default and description;
# one definition of the knobs, so the Dagster config can never drift from the trainer's.
TrainKnobs = create_model(
    "TrainKnobs",
    __base__=dg.Config,
    __doc__="Training knobs (the fields of maskops' TrainConfig).",
    **{name: (info.annotation, info) for name, info in TrainConfig.model_fields.items()},
)


class TrainedModelConfig(dg.Config):
    """Run config of ``trained_model``: the training knobs and an optional Optuna search."""

    force: bool = Field(
        False,
        description="train even when the latest registered model was trained on this same dataset "
        "version (otherwise such a run trains nothing and skips evaluation and release)",
    )
    train: TrainKnobs = Field(default_factory=TrainKnobs, description="ultralytics training knobs")
    start_from: Literal["", "scratch", "champion"] = Field(
        "",
        description="scratch: train.model as given; champion: fine-tune from the @champion's weights "
        "(model/model.pt of its MLflow run; scratch while there is none); empty: "
        "$MASKOPS_TRAIN_START_FROM, else scratch",
    )
    int8: bool = Field(
        True,
        description="also quantize the exported model to INT8 (NNCF) for OpenVINO cameras; it ships "
        "only if model_evaluation measures it within int8_max_drop of fp32",
    )
    int8_calibration_images: int = Field(
        300, ge=0, description="training images the INT8 quantization is calibrated on (0: all of them)"
    )
    search_trials: int = Field(0, ge=0, description="Optuna trials before the final training; 0: no search")
    search_timeout_s: float | None = Field(None, gt=0, description="stop starting search trials after this")
    search_epochs_per_trial: int | None = Field(None, ge=1, description="None: train.epochs")
    search_prune: bool = Field(True, description="stop trials whose val metric is below the median early")
    search_objective: Literal["fitness", "map50", "map50_95"] = "fitness"


#: Metadata key of the observation ``trained_model`` logs when it does not retrain; its value says why.
NOT_RETRAINED = "not_retrained"
#: Where ``start_from`` comes from when the run config leaves it empty.
START_FROM_ENV = "MASKOPS_TRAIN_START_FROM"


def resolve_start_from(configured: str, environ: Mapping[str, str] | None = None) -> str:
    """``scratch`` or ``champion``: the run config's value, else ``$MASKOPS_TRAIN_START_FROM``,
    else scratch."""
    environ = os.environ if environ is None else environ
    value = (configured or environ.get(START_FROM_ENV, "") or "scratch").strip().lower()
    if value not in ("scratch", "champion"):
        raise dg.Failure(
            f"{START_FROM_ENV} must be 'scratch' or 'champion', got {value!r}", allow_retries=False
        )
    return value


def champion_weights(registry: ModelRegistry, dst_dir: Path) -> tuple[RegisteredVersion, Path] | None:
    """The @champion and its weights (``model/model.pt`` of its MLflow run), or None without a champion."""
    champion = registry.alias_version(CHAMPION)
    if champion is None:
        return None
    return champion, registry.download_artifact(champion.run_id, f"model/{MODEL_PT}", dst_dir)


def dataset_tags(dataset: LabeledDatasetVersion) -> dict[str, str]:
    """The tags naming ``dataset`` on a training run and on the registered version it produced."""
    tags = {
        DATASET_VERSION_TAG: dataset.version,
        DATASET_GIT_REV_TAG: dataset.git_rev,
        DATASET_MD5_TAG: dataset.dvc_md5,
    }
    return {key: value for key, value in tags.items() if value}


def model_trained_on(registry: ModelRegistry, dataset: LabeledDatasetVersion) -> RegisteredVersion | None:
    """The latest registered model if it was trained on exactly ``dataset``, else None.

    Same version tag, and the same git revision and DVC hash wherever those were recorded: a
    ``dataset-v3`` of a re-created dataset repository is other data.
    """
    latest = registry.latest_trained()
    if latest is None:
        return None
    recorded = registry.trained_on(latest)
    if recorded.get(DATASET_VERSION_TAG) != dataset.version:
        return None
    if any(key in recorded and recorded[key] != value for key, value in dataset_tags(dataset).items()):
        return None
    return latest


def not_retrained_message(dataset: LabeledDatasetVersion, model: RegisteredVersion) -> str:
    name = model.model_version or f"{model.name} version {model.version}"
    return (
        f"dataset version {dataset.version} is the one {name} was trained on; nothing new to learn; "
        "set force: true to retrain (ops: trained_model: config: force: true). "
        "model_evaluation and deployment_release are skipped in this run."
    )


@dg.asset(
    group_name="training",
    kinds={"python", "pytorch", "mlflow", "onnx"},
    owners=[OWNER],
    description=(
        "A detector trained with ultralytics on the labeled dataset (after an optional Optuna search), "
        "tracked as one MLflow run, registered as a new model version, exported to ONNX and published "
        "to the store under models/<model_version>/. Not retrained on the dataset version the latest "
        "registered model was trained on, unless config force is set."
    ),
    # yields nothing when the dataset is unchanged: downstream steps of the run are then skipped
    output_required=False,
)
def trained_model(
    context: dg.AssetExecutionContext,
    config: TrainedModelConfig,
    labeled_dataset: LabeledDatasetVersion,
    mlflow: MlflowResource,
    object_store: ObjectStoreResource,
    work_dir: WorkDirResource,
):
    try:
        cfg = TrainConfig.model_validate(config.train.model_dump())
    except ValueError as err:
        raise dg.Failure(f"trained_model config 'train' is invalid: {err}") from err
    registry = mlflow.registry()
    previous = model_trained_on(registry, labeled_dataset)
    if previous is not None and not config.force:
        message = not_retrained_message(labeled_dataset, previous)
        context.log.info(message)
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key,
                metadata={
                    NOT_RETRAINED: message,
                    "dataset_version": labeled_dataset.version,
                    "model_version": previous.model_version or previous.version,
                    "mlflow_run": dg.MetadataValue.url(mlflow.run_url(previous.run_id)),
                },
            )
        )
        return
    if previous is not None:
        context.log.info(
            f"force: retraining on {labeled_dataset.version}, which "
            f"{previous.model_version or previous.version} was already trained on"
        )
    out_dir = work_dir.dir("training", context.run.run_id)
    settings_dir = work_dir.dir("ultralytics")
    start_from = resolve_start_from(config.start_from)
    if start_from == "champion":
        found_champion = champion_weights(registry, out_dir / "champion")
        if found_champion is None:
            context.log.info(f"start_from champion: no @champion yet, training from {cfg.model}")
        else:
            champion, weights = found_champion
            context.log.info(f"fine-tuning from the champion {champion.model_version} ({weights})")
            cfg = cfg.model_copy(update={"model": str(weights)})
    lineage_tags = {
        **dataset_tags(labeled_dataset),
        "maskops.sample_batches": ",".join(labeled_dataset.sample_batches),
        "maskops.dagster_run_id": context.run.run_id,
        "maskops.started_from": cfg.model,
    }
    with registry.run(f"train-{labeled_dataset.version}", tags=lineage_tags) as run_id:
        context.log.info(f"MLflow run {run_id} ({mlflow.run_url(run_id)})")
        registry.log_params(run_id, {**cfg.model_dump(), "dataset_version": labeled_dataset.version})
        search_rows: list[dict] = []
        if config.search_trials:
            search = SearchConfig(
                n_trials=config.search_trials,
                timeout_s=config.search_timeout_s,
                epochs_per_trial=config.search_epochs_per_trial,
                prune=config.search_prune,
                objective=config.search_objective,
                seed=cfg.seed,
            )
            found = search_hyperparameters(
                labeled_dataset.data_yaml,
                cfg,
                search,
                out_dir / "search",
                registry=registry,
                parent_run_id=run_id,
                log=context.log.info,
            )
            cfg = found.best_config
            registry.log_params(run_id, {f"best_{k}": v for k, v in found.best_params.items()})
            registry.log_metrics(
                run_id, {"search_best_value": found.best_value, "search_pruned": found.pruned}
            )
            search_rows = [
                {"trial": t.number, "state": t.state, "value": t.value, **t.params} for t in found.trials
            ]

        def on_epoch(progress: EpochProgress) -> None:
            context.log.info(progress.line())
            registry.log_epoch(run_id, progress.epoch, {**progress.metrics, **progress.train_losses})

        context.log.info(
            f"training {cfg.model} for {cfg.epochs} epochs at imgsz {cfg.imgsz} "
            f"on {labeled_dataset.data_yaml}"
        )
        result = train_detector(
            labeled_dataset.data_yaml, cfg, out_dir, progress=on_epoch, settings_dir=settings_dir
        )
        context.log.info(
            f"best epoch {result.best_epoch}/{result.epochs_run}: {_shown(result.metrics)}; "
            f"optimizer {result.optimizer_used} lr0={result.lr0_used:g} "
            f"(requested {cfg.optimizer} lr0={cfg.lr0:g})"
        )
        registry.log_params(run_id, _used_params(result))
        # the plain metric names hold the registered (best) weights' figures, logged once after the
        # last epoch: the latest value of each key is what MLflow's run page and search_runs show
        registry.log_metrics(
            run_id,
            {
                **result.metrics,
                "best_epoch": result.best_epoch,
                "train_seconds": result.seconds,
                "epochs_run": result.epochs_run,
            },
            step=result.epochs_run,
        )
        registered = registry.register(
            run_id,
            "model",
            description=f"trained on {labeled_dataset.version}",
            tags=dataset_tags(labeled_dataset),
        )
        model_version = f"{mlflow.model_name}-v{registered.version}"
        registry.tag_model_version(registered.version, model_version)
        registry.set_tags(run_id, {MODEL_VERSION_TAG: model_version})

        lineage = {
            "dataset_version": labeled_dataset.version,
            "dataset_git_rev": labeled_dataset.git_rev,
            "sample_batches": list(labeled_dataset.sample_batches),
            "mlflow_run_id": run_id,
            "registered_model": mlflow.model_name,
            "registered_version": registered.version,
            "metrics": result.metrics,
            "best_epoch": result.best_epoch,
            **_used_params(result),
        }
        exported = export_onnx(
            result.weights,
            work_dir.dir("models", model_version),
            imgsz=cfg.imgsz,
            model_version=model_version,
            lineage=lineage,
            settings_dir=settings_dir,
        )
        int8 = None
        if config.int8:
            int8 = quantize_release(
                exported,
                labeled_dataset.data_yaml,
                config.int8_calibration_images,
                log=context.log.info,
                warn=context.log.warning,
            )
        for path in (exported.weights, exported.onnx, exported.metadata, *([int8.path] if int8 else [])):
            registry.log_artifact(run_id, path, "model")
        published = publish_model(object_store.open(), exported, model_version, int8)
        context.log.info(
            f"published {model_version} to {published.onnx_key} (sha256 {exported.sha256[:12]}...)"
            + (f" and its INT8 model to {published.int8_key}" if published.int8_key else "")
        )

    value = TrainedModel(
        model_version=model_version,
        mlflow_run_id=run_id,
        registered_version=registered.version,
        weights=str(exported.weights),
        onnx=str(exported.onnx),
        onnx_sha256=exported.sha256,
        dataset_version=labeled_dataset.version,
        metrics=result.metrics,
        imgsz=cfg.imgsz,
        class_names=exported.class_names,
        data_yaml=labeled_dataset.data_yaml,
        sample_batches=tuple(labeled_dataset.sample_batches),
    )
    metadata = {
        "model_version": model_version,
        "registered_version": dg.MetadataValue.url(mlflow.model_version_url(registered.version)),
        "mlflow_run_id": run_id,
        "mlflow_run": dg.MetadataValue.url(mlflow.run_url(run_id)),
        "dataset_version": labeled_dataset.version,
        "sample_batches": dg.MetadataValue.json(list(labeled_dataset.sample_batches)),
        "onnx_key": published.onnx_key,
        "onnx_sha256": exported.sha256,
        "int8_key": published.int8_key or "none",
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "optimizer_used": result.optimizer_used,
        "lr0_used": result.lr0_used,
        "train_minutes": round(result.seconds / 60, 2),
        "val_metrics": dg.MetadataValue.md(_metrics_table(result.metrics)),
        "train_config": dg.MetadataValue.json(json.loads(cfg.model_dump_json())),
        "started_from": cfg.model,
    }
    if result.momentum_used is not None:
        metadata["momentum_used"] = result.momentum_used
    if search_rows:
        metadata["search_trials"] = dg.MetadataValue.json(search_rows)
    yield dg.Output(value, metadata=metadata)


def _used_params(result) -> dict:
    """What ultralytics actually built, beside the requested ``optimizer``/``lr0`` params."""
    used = {"optimizer_used": result.optimizer_used, "lr0_used": result.lr0_used}
    if result.momentum_used is not None:
        used["momentum_used"] = result.momentum_used
    return used


def _shown(metrics: dict[str, float]) -> str:
    return " ".join(f"{k} {metrics[k]:.3f}" for k in ("map50", "map50_95") if k in metrics)


def _metrics_table(metrics: dict[str, float]) -> str:
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in metrics.items())
    return f"| metric | value |\n|---|---|\n{rows}"


# Dagster's defs-folder loader finds the asset itself; the list is for tests that build their own
# Definitions from this module.
ASSETS = [trained_model]
