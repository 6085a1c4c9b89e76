"""Parallel Optuna trials: the same number of trials with 1 and with 2 worker processes sharing one
study in PostgreSQL (``maskops_assets.training.study_workers``, what the search runs with
``MASKOPS_OPTUNA_WORKERS``). Target: 2 workers in at most 0.6x the time of 1.

Each trial is a fixed amount of CPU work (``--work`` million loop steps, about a second), so the
figure is the mechanism's: worker start-up, study loads and storage round trips beside the trials.
With ``--train`` each trial trains YOLOv8n for one epoch on a small synthetic dataset instead
(``maskops_assets.training.search``; one torch thread per trial, ``--images`` synthetic images at
96 px), which is what a search does; there each worker also pays its own torch import.

Needs a PostgreSQL URL: ``--storage`` or ``$MASKOPS_OPTUNA_STORAGE`` (``make prod-up; source
var/prod/env`` sets it). Runs 1 then 2 workers, ``--rounds`` times, each on a new study, and prints
every round and the median ratio.

    .venv/bin/python bench/optuna_parallel.py --trials 8 --work 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from maskops_assets.training.study_workers import WorkerPlan, run_study_workers, split_trials


class FixedWork:
    """A trial costing a fixed number of Python loop steps (picklable for the spawned workers)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __call__(self, trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        total = 0
        for i in range(self.steps):
            total += i & 7
        return x + total * 0.0


def run_toy(storage: str, trials: int, workers: int, steps: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"bench-{uuid.uuid4().hex[:10]}"
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    plans = [WorkerPlan(FixedWork(steps), share) for share in split_trials(trials, workers)]
    started = time.perf_counter()
    run_study_workers(storage, name, plans)
    seconds = time.perf_counter() - started
    assert len(optuna.load_study(study_name=name, storage=storage).trials) == trials
    return seconds


def run_train(storage: str, trials: int, workers: int, data_yaml: Path, out: Path) -> float:
    from maskops_assets.training.search import SearchConfig, SearchSpace, search_hyperparameters
    from maskops_assets.training.trainer import TrainConfig

    base = TrainConfig(epochs=1, imgsz=96, batch=8, mosaic=0.0, threads=1)
    search = SearchConfig(
        n_trials=trials,
        epochs_per_trial=1,
        prune=False,
        workers=workers,
        storage_url=storage,
        space=SearchSpace(batch=(8,)),
    )
    started = time.perf_counter()
    search_hyperparameters(data_yaml, base, search, out / uuid.uuid4().hex[:8], log=lambda line: None)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", default=os.environ.get("MASKOPS_OPTUNA_STORAGE"))
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--work", type=float, default=20.0, help="million loop steps per toy trial")
    parser.add_argument("--train", action="store_true", help="trials train YOLOv8n (1 epoch, 96 px)")
    parser.add_argument("--images", type=int, default=160, help="synthetic images for --train")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not args.storage:
        parser.error("give --storage postgresql+psycopg2://... or set MASKOPS_OPTUNA_STORAGE")

    data_yaml = out = None
    if args.train:
        from maskops_assets.synthetic.dataset import generate_dataset

        out = Path(tempfile.mkdtemp(prefix="optuna-bench-"))
        data_yaml = generate_dataset(out / "ds", args.images, seed=0, image_size=96)

    kind = "train (YOLOv8n, 1 epoch)" if args.train else f"fixed work ({args.work:g}M steps)"
    print(f"optuna_parallel: {args.trials} trials of {kind}; cpu_count={os.cpu_count()}", flush=True)
    ratios = []
    for round_ in range(1, args.rounds + 1):
        times = {}
        for workers in (1, 2):
            if args.train:
                times[workers] = run_train(args.storage, args.trials, workers, data_yaml, out)
            else:
                times[workers] = run_toy(args.storage, args.trials, workers, int(args.work * 1e6))
        ratio = times[2] / times[1]
        ratios.append(ratio)
        load = os.getloadavg()[0]
        print(
            f"round {round_}: 1 worker {times[1]:.1f}s, 2 workers {times[2]:.1f}s, "
            f"ratio {ratio:.2f} (load average {load:.1f})",
            flush=True,
        )
    median = statistics.median(ratios)
    print(f"median ratio 2 workers / 1 worker: {median:.2f} (target <= 0.60)")
    return 0 if median <= 0.6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
