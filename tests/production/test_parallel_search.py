"""Parallel Optuna trials share one study in PostgreSQL: worker processes load it by URL, every
trial lands in the one study, and the median pruner in one process acts on another's trials."""

from __future__ import annotations

import os

import optuna
import pytest
from prod_helpers import ReportingObjective

from maskops_assets.training.study_workers import WorkerPlan, run_study_workers, split_trials

pytestmark = pytest.mark.slow


def test_split_trials():
    assert split_trials(5, 2) == [3, 2]
    assert split_trials(4, 2) == [2, 2]
    assert split_trials(1, 3) == [1]
    with pytest.raises(ValueError, match="workers >= 1"):
        split_trials(3, 0)


def test_two_workers_run_trials_of_one_study_in_postgres(postgres, pg_database):
    url = postgres.url(pg_database)
    optuna.create_study(study_name="shared", storage=url, direction="maximize")
    plans = [
        WorkerPlan(ReportingObjective(0.5), 3, sampler=optuna.samplers.RandomSampler(seed=i))
        for i in range(2)
    ]
    run_study_workers(url, "shared", plans)

    study = optuna.load_study(study_name="shared", storage=url)
    assert len(study.trials) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    pids = [t.user_attrs["pid"] for t in study.trials]
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two worker processes, three trials each
    assert sorted(pids.count(pid) for pid in set(pids)) == [3, 3]


def test_pruning_in_one_worker_uses_another_workers_trials(postgres, pg_database):
    url = postgres.url(pg_database)
    optuna.create_study(study_name="pruned", storage=url, direction="maximize")
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    run_study_workers(url, "pruned", [WorkerPlan(ReportingObjective(0.9), 2, pruner=pruner)])
    # a later worker process whose trials report less than the median of the first one's
    run_study_workers(url, "pruned", [WorkerPlan(ReportingObjective(0.1), 2, pruner=pruner)])

    study = optuna.load_study(study_name="pruned", storage=url)
    states = [t.state for t in study.trials]
    assert states[:2] == [optuna.trial.TrialState.COMPLETE] * 2
    assert states[2:] == [optuna.trial.TrialState.PRUNED] * 2


def test_a_failing_worker_is_reported(postgres, pg_database):
    url = postgres.url(pg_database)
    optuna.create_study(study_name="broken", storage=url)
    with pytest.raises(RuntimeError, match="optuna-worker-0 \\(exit code 1\\) failed"):
        run_study_workers(url, "broken", [WorkerPlan(_broken_objective, 1)])


def _broken_objective(trial):  # pragma: no cover - runs in the worker
    raise ValueError("broken dataset")


def test_search_with_two_workers_trains_trials_of_one_study(postgres, tmp_path):
    """The real search: two worker processes train trials of one Optuna study in Postgres, each
    trial a nested run in an MLflow store on Postgres (several processes write it at once)."""
    import mlflow

    from maskops_assets.synthetic.dataset import generate_dataset
    from maskops_assets.tracking.registry import PARENT_RUN_TAG, ModelRegistry
    from maskops_assets.training.search import SearchConfig, SearchSpace, search_hyperparameters
    from maskops_assets.training.trainer import TrainConfig

    data_yaml = generate_dataset(tmp_path / "ds", 40, seed=0, image_size=96)
    tracking = postgres.create_database("mlflow_search")
    client = mlflow.MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    registry = ModelRegistry.for_experiment(
        client, "maskops-test", "maskops-detector", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    search = SearchConfig(
        n_trials=2,
        epochs_per_trial=1,
        workers=2,
        storage_url=postgres.create_database("optuna_search"),
        study_name="parallel",
        space=SearchSpace(batch=(8,), lr0=(0.001, 0.01)),
    )
    base = TrainConfig(epochs=1, imgsz=64, batch=8, fraction=0.3, mosaic=0.0, threads=1)
    lines: list[str] = []
    with registry.run("search-parent") as parent:
        result = search_hyperparameters(
            data_yaml,
            base,
            search,
            tmp_path / "search",
            registry=registry,
            parent_run_id=parent,
            log=lines.append,
        )

    assert sorted(t.worker for t in result.trials) == [0, 1]  # one trial in each worker process
    assert all(t.state == "COMPLETE" for t in result.trials)
    assert 0.001 <= result.best_config.lr0 <= 0.01
    study = optuna.load_study(study_name="parallel", storage=search.storage_url)
    assert len(study.trials) == 2
    children = client.search_runs(
        [registry.experiment_id], filter_string=f"tags.`{PARENT_RUN_TAG}` = '{parent}'"
    )
    assert sorted(r.data.tags["maskops.search_worker"] for r in children) == ["0", "1"]
    assert {r.info.run_id for r in children} == {t.run_id for t in result.trials}
    assert all(r.info.status == "FINISHED" for r in children)
    assert "2 workers" in lines[0]
