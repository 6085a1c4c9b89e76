"""Train the mask detector with ultralytics from a typed config.

``train_detector`` is the one entry point: it prepares ultralytics (settings dir,
threads, integrations off, console quiet), trains from a model yaml (``yolov8n.yaml``,
from scratch) or from weights the user supplies (a ``.pt``), reports every finished epoch
to a ``progress`` callback, and returns the best weights with their validation metrics:
the figures of the epoch that wrote ``best.pt``, with that epoch's number, and the
optimizer and learning rate ultralytics actually built (``optimizer="auto"`` picks its own).
A callback may raise to stop training early (the Optuna search prunes this way).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from maskops_assets.training.ultralytics_env import prepare_ultralytics

# ultralytics reports validation metrics under these keys; maskops uses the short names.
_METRIC_NAMES = {
    "metrics/precision(B)": "precision",
    "metrics/recall(B)": "recall",
    "metrics/mAP50(B)": "map50",
    "metrics/mAP50-95(B)": "map50_95",
    "val/box_loss": "val_box_loss",
    "val/cls_loss": "val_cls_loss",
    "val/dfl_loss": "val_dfl_loss",
}
# ultralytics' mean training losses of an epoch (``trainer.tloss``, labelled "train/...").
_TRAIN_LOSS_NAMES = {
    "train/box_loss": "box_loss",
    "train/cls_loss": "cls_loss",
    "train/dfl_loss": "dfl_loss",
}

Optimizer = Literal["auto", "SGD", "Adam", "AdamW", "NAdam", "RAdam", "RMSProp"]


class TrainingError(RuntimeError):
    """Training could not start or did not produce weights; the message says what to fix."""


class TrainConfig(BaseModel):
    """Every knob of one training run. Defaults train a small model on one CPU machine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        "yolov8n.yaml", description="an ultralytics model yaml (from scratch) or a .pt to start from"
    )
    epochs: int = Field(10, ge=1)
    imgsz: int = Field(160, ge=32, description="square training/inference size in pixels (multiple of 32)")
    batch: int = Field(16, ge=1)
    nbs: int = Field(
        64,
        ge=1,
        description="nominal batch: gradients accumulate over nbs/batch batches; "
        "set it to batch on tiny data",
    )
    lr0: float = Field(0.01, gt=0)
    lrf: float = Field(0.01, gt=0, le=1)
    momentum: float = Field(0.937, ge=0, lt=1)
    weight_decay: float = Field(0.0005, ge=0)
    warmup_epochs: float = Field(3.0, ge=0)
    optimizer: Optimizer = "auto"
    cos_lr: bool = False
    patience: int = Field(50, ge=1, description="stop after this many epochs without a better val fitness")
    seed: int = 0
    deterministic: bool = True
    workers: int = Field(0, ge=0, description="dataloader workers; 0 keeps everything in this process")
    device: str = "cpu"
    threads: int | None = Field(None, ge=1, description="torch threads; None uses every core")
    fraction: float = Field(1.0, gt=0, le=1, description="share of the training images to use")
    cache: bool = False
    # augmentation
    mosaic: float = Field(1.0, ge=0, le=1)
    close_mosaic: int = Field(10, ge=0)
    mixup: float = Field(0.0, ge=0, le=1)
    fliplr: float = Field(0.5, ge=0, le=1)
    hsv_h: float = Field(0.015, ge=0, le=1)
    hsv_s: float = Field(0.7, ge=0, le=1)
    hsv_v: float = Field(0.4, ge=0, le=1)
    degrees: float = Field(0.0, ge=0, le=180)
    translate: float = Field(0.1, ge=0, le=1)
    scale: float = Field(0.5, ge=0, le=1)

    @field_validator("imgsz")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise ValueError(
                f"imgsz must be a multiple of 32 (the model's stride), got {value}; "
                f"try {value // 32 * 32 or 32}"
            )
        return value

    @field_validator("model")
    @classmethod
    def _yaml_or_weights(cls, value: str) -> str:
        if not value.endswith((".yaml", ".yml", ".pt")):
            raise ValueError(
                f"model must be a model yaml (e.g. yolov8n.yaml) or a .pt weights file, got {value!r}"
            )
        if value.endswith(".pt") and not Path(value).is_file():
            raise ValueError(
                f"weights file {value!r} does not exist; maskops never downloads weights, "
                "pass a local .pt or a model yaml such as yolov8n.yaml to train from scratch"
            )
        return value

    def ultralytics_args(self) -> dict[str, Any]:
        """The keyword arguments for ``YOLO.train`` (everything but ``model`` and ``threads``)."""
        args = self.model_dump(exclude={"model", "threads"})
        args["amp"] = self.device != "cpu"  # AMP on CPU only costs time
        return args


@dataclass(frozen=True)
class EpochProgress:
    """What one finished epoch reports: 1-based ``epoch`` of ``epochs``, its val metrics (short
    names, with ``fitness``), its mean training losses, and the seconds since training started."""

    epoch: int
    epochs: int
    metrics: dict[str, float]
    seconds: float
    train_losses: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """One plain console line, e.g. ``epoch 3/12: map50 0.810 map50_95 0.520 box_loss 1.204 (14 s)``."""
        shown = [f"{name} {self.metrics[name]:.3f}" for name in ("map50", "map50_95") if name in self.metrics]
        if "box_loss" in self.train_losses:
            shown.append(f"box_loss {self.train_losses['box_loss']:.3f}")
        return f"epoch {self.epoch}/{self.epochs}: {' '.join(shown)} ({self.seconds:.0f} s)"


ProgressCallback = Callable[[EpochProgress], None]


@dataclass(frozen=True)
class TrainResult:
    """Best weights of a finished run and what is known about them.

    ``metrics`` are the val metrics (short names, with ``fitness``) of ``best_epoch``, the epoch
    whose weights ultralytics saved as ``best.pt`` (the last epoch that reached the best fitness),
    so they are the figures of the weights returned, not of the last epoch. ``history`` has one row
    per epoch (``epoch``, the val metrics, ``train_<loss>``). ``optimizer_used``, ``lr0_used`` and
    ``momentum_used`` are what ultralytics built, which differ from the config with ``optimizer="auto"``.
    """

    weights: Path
    metrics: dict[str, float]
    epochs_run: int
    seconds: float
    run_dir: Path
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    optimizer_used: str = ""
    lr0_used: float = 0.0
    momentum_used: float | None = None


def short_metrics(raw: dict[str, Any]) -> dict[str, float]:
    """ultralytics' metric dict with maskops' short names; unknown keys are dropped."""
    return {short: float(raw[key]) for key, short in _METRIC_NAMES.items() if key in raw}


def best_epoch_row(history: list[dict[str, float]]) -> dict[str, float] | None:
    """The row of the epoch that wrote ``best.pt``: ultralytics raises ``best_fitness`` only on a
    strictly better fitness but rewrites ``best.pt`` whenever an epoch's fitness equals it, so the
    best weights are those of the *last* epoch with the highest fitness."""
    if not history:
        return None
    top = max(row.get("fitness", 0.0) for row in history)
    return [row for row in history if row.get("fitness", 0.0) == top][-1]


def _train_losses(trainer: Any) -> dict[str, float]:
    tloss = getattr(trainer, "tloss", None)
    if not isinstance(tloss, dict) or not hasattr(trainer, "label_loss_items"):
        return {}
    labelled = trainer.label_loss_items(tloss, prefix="train")
    return {short: float(labelled[key]) for key, short in _TRAIN_LOSS_NAMES.items() if key in labelled}


def _optimizer_used(trainer: Any) -> tuple[str, float, float | None]:
    """(class name, base learning rate, momentum) of the optimizer ultralytics built.

    ``initial_lr`` is each param group's learning rate before warm-up and scheduling; MuSGD gives
    some groups 3x the base rate, so the base is the smallest.
    """
    optimizer = trainer.optimizer
    groups = optimizer.param_groups
    lr0 = min(float(g.get("initial_lr", g["lr"])) for g in groups)
    first = groups[0]
    momentum = first.get("momentum", (first.get("betas") or (None,))[0])
    return type(optimizer).__name__, lr0, None if momentum is None else float(momentum)


def train_detector(
    data_yaml: Path | str,
    cfg: TrainConfig,
    out_dir: Path | str,
    *,
    progress: ProgressCallback | None = None,
    settings_dir: Path | str | None = None,
    run_name: str = "train",
) -> TrainResult:
    """Train ``cfg.model`` on ``data_yaml``; write the run under ``out_dir/run_name``.

    ``progress`` is called after every epoch's validation. Exceptions it raises stop
    training and propagate unchanged (so a pruned Optuna trial stays a TrialPruned).
    """
    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise TrainingError(f"dataset file {data_yaml} does not exist; pass the data.yaml of a YOLO dataset")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    prepare_ultralytics(settings_dir or out_dir / ".ultralytics", threads=cfg.threads)
    from ultralytics import YOLO

    started = time.monotonic()
    history: list[dict[str, float]] = []
    model = YOLO(cfg.model, verbose=False)
    built: dict[str, Any] = {}

    # ultralytics fires on_fit_epoch_end once more after the final validation of best.pt;
    # only epochs that really started are reported.
    epoch_open = [False]

    def on_train_start(trainer: Any) -> None:
        # the optimizer exists from here on (BaseTrainer._setup_train -> build_optimizer)
        built["optimizer"] = _optimizer_used(trainer)

    def on_train_epoch_start(trainer: Any) -> None:
        epoch_open[0] = True

    def on_fit_epoch_end(trainer: Any) -> None:
        if not epoch_open[0]:
            return
        epoch_open[0] = False
        metrics = short_metrics(trainer.metrics or {})
        metrics["fitness"] = float(trainer.fitness or 0.0)
        losses = _train_losses(trainer)
        history.append(
            {"epoch": trainer.epoch + 1, **metrics, **{f"train_{k}": v for k, v in losses.items()}}
        )
        if progress is not None:
            progress(
                EpochProgress(trainer.epoch + 1, trainer.epochs, metrics, time.monotonic() - started, losses)
            )

    model.add_callback("on_train_start", on_train_start)
    model.add_callback("on_train_epoch_start", on_train_epoch_start)
    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)
    try:
        model.train(
            data=str(data_yaml),
            project=str(out_dir),
            name=run_name,
            exist_ok=True,
            plots=False,
            verbose=False,
            val=True,
            **cfg.ultralytics_args(),
        )
    except FileNotFoundError as err:
        raise TrainingError(
            f"training on {data_yaml} failed: {err}; check the paths in that data.yaml"
        ) from err
    trainer = model.trainer
    weights = Path(trainer.best if Path(trainer.best).exists() else trainer.last)
    if not weights.exists():
        raise TrainingError(
            f"training wrote no weights under {trainer.save_dir}; see the ultralytics log above"
        )
    # Not trainer.metrics: after training that is ultralytics' re-validation of best.pt (reloaded
    # at half precision and fused, so its figures drift from the epoch's in the last digits, and it
    # has no val losses or fitness). The best epoch's own row is what the history and MLflow show.
    best = best_epoch_row(history)
    if best is None:
        raise TrainingError(f"training under {trainer.save_dir} reported no finished epoch")
    optimizer_used, lr0_used, momentum_used = built.get("optimizer") or _optimizer_used(trainer)
    return TrainResult(
        weights=weights,
        metrics={k: v for k, v in best.items() if k in _METRIC_NAMES.values() or k == "fitness"},
        epochs_run=len(history),
        seconds=time.monotonic() - started,
        run_dir=Path(trainer.save_dir),
        history=history,
        best_epoch=int(best["epoch"]),
        optimizer_used=optimizer_used,
        lr0_used=lr0_used,
        momentum_used=momentum_used,
    )
