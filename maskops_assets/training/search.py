"""Optuna hyperparameter search around ``train_detector``, every trial a nested MLflow run.

The search samples a few knobs (learning rate, batch, augmentation strength) into copies of the
base ``TrainConfig``, trains each trial for ``epochs_per_trial`` epochs, reports the val metric
after every epoch so a median pruner can stop hopeless trials early, and returns the best
config. With a registry and a parent run id, each trial is logged as a child run (params, per
epoch curves as ``epoch_<name>``, the trial's best-epoch figures under the plain names, final
state), so the whole search reads as one tree in the MLflow UI.

Parallel tuning (the production profile): with ``storage_url`` (an Optuna RDB URL, e.g. PostgreSQL)
the study lives in that database, and with ``workers`` > 1 the trials run in that many worker
processes (``maskops_assets.training.study_workers``), each loading the same study; the median
pruner reads every worker's reports from the database, so pruning works across workers, and the
same URL would let workers on other machines join. Both default to ``$MASKOPS_OPTUNA_STORAGE`` and
``$MASKOPS_OPTUNA_WORKERS`` (unset: an in-memory study, trials one after another in this process).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from maskops_assets.tracking.registry import ModelRegistry
from maskops_assets.training.study_workers import WorkerPlan, run_study_workers, split_trials
from maskops_assets.training.trainer import EpochProgress, TrainConfig, train_detector

Objective = Literal["fitness", "map50", "map50_95"]

#: environment variables that supply ``SearchConfig.storage_url`` and ``SearchConfig.workers``
STORAGE_ENV = "MASKOPS_OPTUNA_STORAGE"
WORKERS_ENV = "MASKOPS_OPTUNA_WORKERS"


def _env_workers() -> int:
    raw = os.environ.get(WORKERS_ENV) or "1"
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{WORKERS_ENV} must be a whole number of worker processes, got {raw!r}") from None


class SearchSpace(BaseModel):
    """Ranges the search samples from; a range with equal ends pins that knob."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lr0: tuple[float, float] = (0.001, 0.02)
    batch: tuple[int, ...] = (8, 16)
    mosaic: tuple[float, float] = (0.0, 1.0)
    scale: tuple[float, float] = (0.2, 0.6)
    hsv_v: tuple[float, float] = (0.2, 0.6)

    @model_validator(mode="after")
    def _ordered(self) -> SearchSpace:
        for name in ("lr0", "mosaic", "scale", "hsv_v"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"search space {name}: low {low} is above high {high}")
        if not self.batch:
            raise ValueError("search space batch: give at least one batch size")
        return self


class SearchConfig(BaseModel):
    """How long to search and how to judge: ``n_trials`` and/or ``timeout_s``, pruning on or off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_trials: int = Field(4, ge=1)
    timeout_s: float | None = Field(
        None, gt=0, description="stop starting new trials after this many seconds"
    )
    epochs_per_trial: int | None = Field(None, ge=1, description="None: the base config's epochs")
    objective: Objective = "fitness"
    prune: bool = True
    pruner_warmup_epochs: int = Field(1, ge=0, description="epochs a trial runs before it may be pruned")
    seed: int = 0
    space: SearchSpace = SearchSpace()
    storage_url: str | None = Field(
        default_factory=lambda: os.environ.get(STORAGE_ENV) or None,
        description=f"Optuna RDB storage (e.g. postgresql+psycopg2://...); None: ${STORAGE_ENV}, "
        "else an in-memory study",
    )
    workers: int = Field(
        default_factory=_env_workers,
        ge=1,
        description=f"worker processes running trials of one study; default ${WORKERS_ENV}, else 1",
    )
    study_name: str | None = Field(None, description="None: a new, uniquely named study per search")

    @model_validator(mode="after")
    def _parallel_needs_storage(self) -> SearchConfig:
        if self.workers > 1 and not self.storage_url:
            raise ValueError(
                f"search workers={self.workers} needs a shared study: set storage_url "
                f"(or ${STORAGE_ENV}) to an Optuna RDB URL such as PostgreSQL"
            )
        return self


@dataclass(frozen=True)
class TrialSummary:
    number: int
    state: str
    value: float | None
    params: dict[str, float | int]
    run_id: str | None
    seconds: float
    worker: int = 0


@dataclass(frozen=True)
class SearchResult:
    """The best trial's params merged into the base config, and what every trial did."""

    best_config: TrainConfig
    best_params: dict[str, float | int]
    best_value: float
    trials: list[TrialSummary] = field(default_factory=list)

    @property
    def pruned(self) -> int:
        return sum(1 for t in self.trials if t.state == "PRUNED")


def search_hyperparameters(
    data_yaml: Path | str,
    base: TrainConfig,
    search: SearchConfig,
    out_dir: Path | str,
    *,
    registry: ModelRegistry | None = None,
    parent_run_id: str | None = None,
    log: Callable[[str], None] = print,
) -> SearchResult:
    """Run the search; raise RuntimeError naming the trials if none of them finished."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # maskops prints its own one line per trial
    epochs = search.epochs_per_trial or base.epochs
    study_name = search.study_name or f"maskops-search-{uuid.uuid4().hex[:12]}"
    objective = DetectorTrial(
        data_yaml=str(data_yaml),
        base=base,
        search=search,
        epochs=epochs,
        out_dir=str(out_dir),
        registry=RegistryRef.of(registry) if registry is not None else None,
        parent_run_id=parent_run_id,
    )
    where = f", study {study_name} in {_redacted(search.storage_url)}" if search.storage_url else ""
    log(
        f"search: up to {search.n_trials} trials of {epochs} epochs, objective {search.objective}"
        + (f", timeout {search.timeout_s:.0f}s" if search.timeout_s else "")
        + (f", {search.workers} workers" if search.workers > 1 else "")
        + where
    )
    if search.workers == 1:
        study = create_study(search, study_name)
        objective.log = log
        objective._opened = registry  # in this process: the caller's own client
        # catch=() lets a crashing trial stop the search: a broken dataset fails every trial the same way
        study.optimize(objective, n_trials=search.n_trials, timeout=search.timeout_s, catch=())
    else:
        create_study(search, study_name)
        plans = [
            WorkerPlan(
                objective.for_worker(index),
                share,
                sampler=optuna.samplers.TPESampler(seed=search.seed + index),
                pruner=make_pruner(search),
            )
            for index, share in enumerate(split_trials(search.n_trials, search.workers))
        ]
        run_study_workers(search.storage_url, study_name, plans, timeout_s=search.timeout_s)
        study = optuna.load_study(study_name=study_name, storage=search.storage_url)
    summaries = [_summary(t) for t in study.trials if "params" in t.user_attrs]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        states = ", ".join(f"{s.number}:{s.state}" for s in summaries)
        raise RuntimeError(
            f"hyperparameter search finished no trial ({states}); allow more trials or disable pruning"
        )
    best = study.best_trial
    best_params = dict(best.user_attrs["params"])
    return SearchResult(
        best_config=TrainConfig.model_validate({**base.model_dump(), **best_params}),
        best_params=best_params,
        best_value=float(best.value),
        trials=summaries,
    )


def create_study(search: SearchConfig, study_name: str):
    """The search's study: in ``search.storage_url`` when set (created there), else in memory."""
    import optuna

    return optuna.create_study(
        study_name=study_name,
        storage=search.storage_url,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=search.seed),
        pruner=make_pruner(search),
        load_if_exists=search.study_name is not None,
    )


def make_pruner(search: SearchConfig):
    """The median pruner (every process builds its own: Optuna keeps pruners out of the database)."""
    import optuna

    if not search.prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=search.pruner_warmup_epochs)


@dataclass(frozen=True)
class RegistryRef:
    """What a worker process needs to open the same MLflow registry (a client does not pickle)."""

    tracking_uri: str
    registry_uri: str
    experiment_id: str
    model_name: str

    @classmethod
    def of(cls, registry: ModelRegistry) -> RegistryRef:
        client = registry.client
        return cls(client.tracking_uri, client._registry_uri, registry.experiment_id, registry.model_name)

    def open(self) -> ModelRegistry:
        import mlflow

        client = mlflow.MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        return ModelRegistry(client, experiment_id=self.experiment_id, model_name=self.model_name)


@dataclass
class DetectorTrial:
    """One Optuna trial: sample the knobs, train, report every epoch (for the pruner), log to MLflow.

    Picklable, so worker processes can run it: it holds settings, not clients. What the trial did is
    kept on the trial itself (user attributes ``params``, ``run_id``, ``seconds``, ``worker``), which
    lives in the study's storage and so is seen by every process.
    """

    data_yaml: str
    base: TrainConfig
    search: SearchConfig
    epochs: int
    out_dir: str
    registry: RegistryRef | None = None
    parent_run_id: str | None = None
    worker: int = 0
    log: Callable[[str], None] = field(default=print, repr=False)
    _opened: ModelRegistry | None = field(default=None, init=False, repr=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.update(log=print, _opened=None)  # a worker prints its lines; it opens its own client
        return state

    def for_worker(self, index: int) -> DetectorTrial:
        return DetectorTrial(**{**asdict_shallow(self), "worker": index, "log": print})

    def _registry(self) -> ModelRegistry | None:
        if self.registry is not None and self._opened is None:
            self._opened = self.registry.open()
        return self._opened

    def __call__(self, trial) -> float:
        import optuna

        search, registry = self.search, self._registry()
        params = _sample(trial, search.space)
        trial.set_user_attr("params", params)
        trial.set_user_attr("worker", self.worker)
        cfg = TrainConfig.model_validate({**self.base.model_dump(), **params, "epochs": self.epochs})
        started = time.monotonic()
        run_id = None
        if registry is not None:
            run_id = registry.start_run(
                f"trial-{trial.number}",
                parent_run_id=self.parent_run_id,
                tags={"maskops.kind": "search-trial", "maskops.search_worker": str(self.worker)},
            )
            trial.set_user_attr("run_id", run_id)
            registry.log_params(run_id, {**params, "epochs": self.epochs, "trial": trial.number})

        def on_epoch(progress: EpochProgress) -> None:
            value = progress.metrics.get(search.objective, 0.0)
            if run_id is not None:
                registry.log_epoch(run_id, progress.epoch, {**progress.metrics, **progress.train_losses})
            trial.report(value, progress.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"trial {trial.number} pruned after epoch {progress.epoch} ({value:.4f})"
                )

        state, value = "FAILED", None
        try:
            result = train_detector(
                self.data_yaml, cfg, Path(self.out_dir), progress=on_epoch, run_name=f"trial-{trial.number}"
            )
            value = float(result.metrics.get(search.objective, 0.0))
            if run_id is not None:
                registry.log_metrics(
                    run_id, {**result.metrics, "best_epoch": result.best_epoch}, step=result.epochs_run
                )
                registry.log_params(
                    run_id, {"optimizer_used": result.optimizer_used, "lr0_used": result.lr0_used}
                )
            state = "COMPLETE"
            return value
        except optuna.TrialPruned:
            state = "PRUNED"
            raise
        finally:
            seconds = time.monotonic() - started
            trial.set_user_attr("seconds", seconds)
            shown = f"{value:.4f}" if value is not None else "-"
            worker = f" (worker {self.worker})" if self.search.workers > 1 else ""
            self.log(
                f"search trial {trial.number}{worker}: {state} {search.objective}={shown} "
                f"in {seconds:.0f}s params={params}"
            )
            if run_id is not None:
                registry.set_tags(run_id, {"maskops.trial_state": state})
                if value is not None:
                    registry.log_metrics(run_id, {f"trial_{search.objective}": value})
                registry.client.set_terminated(run_id, status="FAILED" if state == "FAILED" else "FINISHED")


def asdict_shallow(obj) -> dict:
    """A dataclass's init fields as a dict, values not copied (``dataclasses.asdict`` deep-copies)."""
    return {f.name: getattr(obj, f.name) for f in obj.__dataclass_fields__.values() if f.init}


def _summary(trial) -> TrialSummary:
    return TrialSummary(
        number=trial.number,
        state=trial.state.name,
        value=trial.value,
        params=dict(trial.user_attrs["params"]),
        run_id=trial.user_attrs.get("run_id"),
        seconds=float(trial.user_attrs.get("seconds", 0.0)),
        worker=int(trial.user_attrs.get("worker", 0)),
    )


def _redacted(url: str | None) -> str:
    """``url`` without a password, for log lines."""
    if not url or "@" not in url or "://" not in url:
        return url or ""
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _sample(trial, space: SearchSpace) -> dict[str, float | int]:
    def uniform(name: str, bounds: tuple[float, float], *, log: bool = False) -> float:
        low, high = bounds
        return low if low == high else trial.suggest_float(name, low, high, log=log)

    params: dict[str, float | int] = {"lr0": uniform("lr0", space.lr0, log=True)}
    params["batch"] = (
        space.batch[0] if len(space.batch) == 1 else trial.suggest_categorical("batch", list(space.batch))
    )
    params["mosaic"] = uniform("mosaic", space.mosaic)
    params["scale"] = uniform("scale", space.scale)
    params["hsv_v"] = uniform("hsv_v", space.hsv_v)
    return params
