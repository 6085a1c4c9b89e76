"""Optuna hyperparameter search around ``train_detector``, every trial a nested MLflow run.

The search samples a few knobs (learning rate, batch, augmentation strength) into copies of the
base ``TrainConfig``, trains each trial for ``epochs_per_trial`` epochs, reports the val metric
after every epoch so a median pruner can stop hopeless trials early, and returns the best
config. With a registry and a parent run id, each trial is logged as a child run (params, per
epoch curves as ``epoch_<name>``, the trial's best-epoch figures under the plain names, final
state), so the whole search reads as one tree in the MLflow UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from maskops_assets.tracking.registry import ModelRegistry
from maskops_assets.training.trainer import EpochProgress, TrainConfig, train_detector

Objective = Literal["fitness", "map50", "map50_95"]


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


@dataclass(frozen=True)
class TrialSummary:
    number: int
    state: str
    value: float | None
    params: dict[str, float | int]
    run_id: str | None
    seconds: float


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
    out_dir = Path(out_dir)
    epochs = search.epochs_per_trial or base.epochs
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=search.pruner_warmup_epochs)
        if search.prune
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=search.seed), pruner=pruner
    )
    summaries: list[TrialSummary] = []

    def objective(trial: optuna.Trial) -> float:
        params = _sample(trial, search.space)
        cfg = TrainConfig.model_validate({**base.model_dump(), **params, "epochs": epochs})
        started = time.monotonic()
        run_id = None
        if registry is not None:
            run_id = registry.start_run(
                f"trial-{trial.number}", parent_run_id=parent_run_id, tags={"maskops.kind": "search-trial"}
            )
            registry.log_params(run_id, {**params, "epochs": epochs, "trial": trial.number})

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
                data_yaml, cfg, out_dir, progress=on_epoch, run_name=f"trial-{trial.number}"
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
            summaries.append(TrialSummary(trial.number, state, value, params, run_id, seconds))
            shown = f"{value:.4f}" if value is not None else "-"
            log(
                f"search trial {trial.number}: {state} {search.objective}={shown} "
                f"in {seconds:.0f}s params={params}"
            )
            if run_id is not None:
                registry.set_tags(run_id, {"maskops.trial_state": state})
                if value is not None:
                    registry.log_metrics(run_id, {f"trial_{search.objective}": value})
                registry.client.set_terminated(run_id, status="FAILED" if state == "FAILED" else "FINISHED")

    log(
        f"search: up to {search.n_trials} trials of {epochs} epochs, objective {search.objective}"
        + (f", timeout {search.timeout_s:.0f}s" if search.timeout_s else "")
    )
    # catch=() lets a crashing trial stop the search: a broken dataset fails every trial the same way
    study.optimize(objective, n_trials=search.n_trials, timeout=search.timeout_s, catch=())
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        states = ", ".join(f"{s.number}:{s.state}" for s in summaries)
        raise RuntimeError(
            f"hyperparameter search finished no trial ({states}); allow more trials or disable pruning"
        )
    best = study.best_trial
    best_params = next(s.params for s in summaries if s.number == best.number)
    return SearchResult(
        best_config=TrainConfig.model_validate({**base.model_dump(), **best_params}),
        best_params=best_params,
        best_value=float(best.value),
        trials=summaries,
    )


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
