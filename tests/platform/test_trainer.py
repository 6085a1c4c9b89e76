"""Training from a model yaml on generated data: weights, per-epoch progress, config errors."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from maskops_assets.training.trainer import TrainConfig, TrainingError, train_detector

pytestmark = pytest.mark.slow


def test_training_writes_weights_and_reports_every_epoch(tiny_models):
    good = tiny_models["good"]
    assert good.weights.is_file() and good.weights.suffix == ".pt"
    assert good.epochs_run == 25
    assert tiny_models["good_progress"] == list(range(1, 26))  # once per epoch, final val not repeated
    assert [row["epoch"] for row in good.history] == list(range(1, 26))
    assert {"map50", "map50_95", "precision", "recall"} <= set(good.metrics)
    # the tiny model learned something; the one-epoch model did not catch up
    assert good.metrics["map50"] > tiny_models["bad"].metrics["map50"]


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
