"""Run one Optuna study's trials in several worker processes that share it through RDB storage.

Each worker is a fresh (spawned) process that loads the study from the storage URL and runs its
share of the trials with its own sampler and the study's pruner; trials, their reports and their
user attributes all live in the database, so workers see each other's results (the median pruner
compares against every worker's trials) and workers on other machines could join the same URL.
Optuna does not store samplers or pruners in the database, so each worker is handed its own.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkerPlan:
    """What one worker runs: a picklable objective, how many trials, and its sampler and pruner."""

    objective: Callable[[Any], float]
    n_trials: int
    sampler: Any = None
    pruner: Any = None


def split_trials(n_trials: int, workers: int) -> list[int]:
    """``n_trials`` shared as evenly as possible by ``workers`` (the first ones take the remainder);
    a worker with nothing to do is left out."""
    if n_trials < 1 or workers < 1:
        raise ValueError(f"need n_trials >= 1 and workers >= 1, got {n_trials} and {workers}")
    shares = [n_trials // workers + (1 if i < n_trials % workers else 0) for i in range(workers)]
    return [share for share in shares if share]


def run_study_workers(
    storage_url: str, study_name: str, plans: Sequence[WorkerPlan], *, timeout_s: float | None = None
) -> None:
    """Run each plan in its own process against ``study_name`` in ``storage_url``; wait for all.

    Raise RuntimeError naming every worker that failed (after all have ended): a trial that raises
    stops its worker, like ``study.optimize(catch=())`` does in one process.
    """
    if not storage_url:
        raise ValueError("parallel trials need an Optuna RDB storage URL shared by the workers")
    context = multiprocessing.get_context("spawn")  # no inherited database connections or threads
    processes = [
        context.Process(
            target=_work,
            args=(storage_url, study_name, plan, timeout_s),
            name=f"optuna-worker-{index}",
        )
        for index, plan in enumerate(plans)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [f"{p.name} (exit code {p.exitcode})" for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"study {study_name}: {', '.join(failed)} failed; see the trials' lines above")


def _work(storage_url: str, study_name: str, plan: WorkerPlan, timeout_s: float | None) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name, storage=storage_url, sampler=plan.sampler, pruner=plan.pruner
    )
    study.optimize(plan.objective, n_trials=plan.n_trials, timeout=timeout_s, catch=())
