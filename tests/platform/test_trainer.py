"""Training from a model yaml on generated data: weights, per-epoch progress, what is recorded about
the run, config errors.

Nothing here depends on what a tiny model trained from scratch happened to learn on this CPU: the
assertions hold for any weights (the reported figures are the best epoch's row, all in [0, 1], the
optimizer ultralytics built is the one recorded).
"""

from pathlib import Path

import pytest
from pydantic import ValidationError

from maskops_assets.training.trainer import (
    EpochProgress,
    TrainConfig,
    TrainingError,
    best_epoch_row,
    short_metrics,
    train_detector,
)

pytestmark = pytest.mark.slow

FRACTIONS = ("precision", "recall", "map50", "map50_95", "fitness")


def _checkpoint(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)


def _train_args(result) -> dict:
    """What ultralytics itself saved about the run (last.pt's train_args; ``optimizer="auto"`` is
    replaced there by the optimizer and lr0 it chose)."""
    return _checkpoint(result.run_dir / "weights" / "last.pt")["train_args"]


def _best_pt_metrics(result) -> dict[str, float]:
    """The val metrics ultralytics saved inside the returned weights: those of the epoch that wrote them."""
    saved = _checkpoint(result.weights)["train_metrics"]
    return {**short_metrics(saved), "fitness": float(saved["fitness"])}


def test_training_writes_weights_and_reports_every_epoch(tiny_models, tiny_train):
    good = tiny_models["good"]
    assert good.weights.is_file() and good.weights.suffix == ".pt"
    assert good.epochs_run == 25
    assert tiny_models["good_progress"] == list(range(1, 26))  # once per epoch, final val not repeated
    assert [row["epoch"] for row in good.history] == list(range(1, 26))
    for result in (good, tiny_models["bad"]):
        assert {"map50", "map50_95", "precision", "recall", "fitness"} <= set(result.metrics)
        # the reported figures are those of the epoch that wrote best.pt: the last with the top fitness
        top = max(row["fitness"] for row in result.history)
        assert result.best_epoch == max(row["epoch"] for row in result.history if row["fitness"] == top)
        row = result.history[result.best_epoch - 1]
        assert result.metrics == {k: v for k, v in row.items() if k != "epoch" and not k.startswith("train_")}
        assert best_epoch_row(result.history) is row
        assert result.weights.name == "best.pt" and result.metrics == _best_pt_metrics(result)
        for history_row in result.history:
            assert all(0.0 <= history_row[k] <= 1.0 for k in FRACTIONS), history_row
            assert history_row["train_box_loss"] >= 0.0
        # tiny_train asks for SGD at lr0 0.05: what ultralytics built, and saved, is recorded
        assert result.optimizer_used == tiny_train["optimizer"] == _train_args(result)["optimizer"]
        assert result.lr0_used == pytest.approx(tiny_train["lr0"]) == _train_args(result)["lr0"]


def test_best_epoch_is_the_last_with_the_top_fitness():
    rows = [{"epoch": 1, "fitness": 0.0}, {"epoch": 2, "fitness": 0.4}, {"epoch": 3, "fitness": 0.4}]
    assert best_epoch_row(rows)["epoch"] == 3  # ultralytics rewrites best.pt on an equal fitness
    assert best_epoch_row([*rows, {"epoch": 4, "fitness": 0.3}])["epoch"] == 3
    assert best_epoch_row([]) is None


def test_progress_line_is_one_plain_line():
    progress = EpochProgress(
        3, 12, {"map50": 0.81, "map50_95": 0.52, "fitness": 0.52}, 14.2, {"box_loss": 1.2}
    )
    assert progress.line() == "epoch 3/12: map50 0.810 map50_95 0.520 box_loss 1.200 (14 s)"


def test_progress_callback_can_stop_training(tiny_data_yaml, tmp_path: Path):
    class Stop(Exception):
        pass

    def stop_after_first(progress):
        raise Stop(progress.epoch)

    cfg = TrainConfig(epochs=3, imgsz=64, batch=8, fraction=0.3, mosaic=0.0, threads=2)
    with pytest.raises(Stop) as stopped:
        train_detector(tiny_data_yaml, cfg, tmp_path, progress=stop_after_first)
    assert stopped.value.args == (1,)


def test_config_errors_name_the_problem(tmp_path: Path):
    with pytest.raises(ValidationError, match="multiple of 32"):
        TrainConfig(imgsz=100)
    with pytest.raises(ValidationError, match="never downloads weights"):
        TrainConfig(model=str(tmp_path / "missing.pt"))
    with pytest.raises(ValidationError, match="epoch"):
        TrainConfig(epoch=3)  # a typo is an error, not a silently ignored knob


def test_missing_dataset_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TrainingError, match="does not exist"):
        train_detector(tmp_path / "nope.yaml", TrainConfig(), tmp_path)


def test_training_continues_from_user_weights(tiny_models, tiny_data_yaml, tmp_path: Path):
    cfg = TrainConfig(
        model=str(tiny_models["good"].weights), epochs=1, imgsz=96, batch=8, fraction=0.3, threads=2
    )
    result = train_detector(tiny_data_yaml, cfg, tmp_path)
    assert result.weights.is_file() and result.epochs_run == 1
    # optimizer "auto": ultralytics picks its own optimizer and lr0, and that choice is what is recorded
    assert cfg.optimizer == "auto" and result.optimizer_used not in ("", "auto")
    saved = _train_args(result)
    assert result.optimizer_used == saved["optimizer"] and result.lr0_used == pytest.approx(saved["lr0"])
    assert result.lr0_used != cfg.lr0
