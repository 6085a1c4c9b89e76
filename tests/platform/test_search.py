"""Optuna search: trials train for real, each is a nested MLflow run, the best config comes back."""

import pytest
from pydantic import ValidationError

from maskops_assets.tracking.registry import PARENT_RUN_TAG
from maskops_assets.training.search import SearchConfig, SearchSpace, search_hyperparameters
from maskops_assets.training.trainer import TrainConfig


@pytest.mark.slow
def test_search_logs_every_trial_as_a_nested_run(tiny_data_yaml, mlflow_registry, tmp_path):
    base = TrainConfig(epochs=1, imgsz=64, batch=8, fraction=0.3, mosaic=0.0, threads=2)
    search = SearchConfig(n_trials=2, epochs_per_trial=1, space=SearchSpace(batch=(8,), lr0=(0.001, 0.01)))
    lines: list[str] = []
    with mlflow_registry.run("search-parent") as parent:
        result = search_hyperparameters(
            tiny_data_yaml,
            base,
            search,
            tmp_path,
            registry=mlflow_registry,
            parent_run_id=parent,
            log=lines.append,
        )
    assert len(result.trials) == 2 and all(t.state == "COMPLETE" for t in result.trials)
    assert 0.001 <= result.best_config.lr0 <= 0.01
    assert result.best_config.imgsz == 64  # untouched knobs come from the base config
    assert result.best_params == next(t.params for t in result.trials if t.value == result.best_value)
    children = mlflow_registry.client.search_runs(
        [mlflow_registry.experiment_id], filter_string=f"tags.`{PARENT_RUN_TAG}` = '{parent}'"
    )
    assert sorted(r.info.run_name for r in children) == ["trial-0", "trial-1"]
    for run in children:
        assert run.info.status == "FINISHED"
        assert "lr0" in run.data.params and "map50" in run.data.metrics
        assert run.data.tags["maskops.trial_state"] == "COMPLETE"
    assert sum("search trial" in line for line in lines) == 2


def test_search_space_is_checked():
    with pytest.raises(ValidationError, match="lr0"):
        SearchSpace(lr0=(0.1, 0.01))
    with pytest.raises(ValidationError, match="n_trial"):
        SearchConfig(n_trial=3)


def test_parallel_search_needs_shared_storage(monkeypatch):
    monkeypatch.delenv("MASKOPS_OPTUNA_STORAGE", raising=False)
    monkeypatch.delenv("MASKOPS_OPTUNA_WORKERS", raising=False)
    assert SearchConfig().workers == 1 and SearchConfig().storage_url is None
    with pytest.raises(ValidationError, match="workers=2 needs a shared study"):
        SearchConfig(workers=2)
    monkeypatch.setenv("MASKOPS_OPTUNA_STORAGE", "postgresql+psycopg2://u@127.0.0.1/optuna")
    monkeypatch.setenv("MASKOPS_OPTUNA_WORKERS", "2")
    config = SearchConfig()
    assert (config.workers, config.storage_url) == (2, "postgresql+psycopg2://u@127.0.0.1/optuna")
    monkeypatch.setenv("MASKOPS_OPTUNA_WORKERS", "two")
    with pytest.raises(ValueError, match="MASKOPS_OPTUNA_WORKERS must be a whole number"):
        SearchConfig()
