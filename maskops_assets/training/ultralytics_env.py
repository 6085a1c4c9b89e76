"""Put ultralytics in a known state before any training, validation or export.

ultralytics, left alone, (1) writes a settings file under the user's home,
(2) logs to MLflow by itself whenever mlflow is importable, creating runs nobody
asked for, (3) pins torch to ``cpu_count - 1`` threads (one on a 2-core box) on
every ``select_device`` call, and (4) tries to download a font and other assets.
maskops owns all four: settings live in a directory we choose, every third-party
logger callback is off (maskops logs to MLflow itself), the thread count is ours,
and the process is marked offline so nothing reaches for the network.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# Settings keys of ultralytics' built-in integrations; all are switched off.
_INTEGRATION_SETTINGS = (
    "mlflow",
    "clearml",
    "comet",
    "dvc",
    "hub",
    "neptune",
    "raytune",
    "tensorboard",
    "wandb",
)


@dataclass(frozen=True)
class UltralyticsEnvironment:
    settings_dir: Path
    threads: int


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


def prepare_ultralytics(settings_dir: Path | str, *, threads: int | None = None) -> UltralyticsEnvironment:
    """Configure ultralytics for this process; call before (or instead of) importing it.

    Safe to call more than once; the first call's settings directory wins for the
    process if ultralytics was already imported (its config dir is read at import).
    """
    settings_dir = Path(settings_dir).resolve()
    settings_dir.mkdir(parents=True, exist_ok=True)
    threads = threads or default_threads()

    os.environ.setdefault("YOLO_CONFIG_DIR", str(settings_dir))
    os.environ["YOLO_OFFLINE"] = "1"  # no GitHub/hub checks, no asset downloads
    os.environ["YOLO_AUTOINSTALL"] = "false"  # never pip-install at run time
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    _provide_fonts(Path(os.environ["YOLO_CONFIG_DIR"]))

    import torch
    import ultralytics.utils.torch_utils as torch_utils
    from ultralytics.utils import SETTINGS

    SETTINGS.update({key: False for key in _INTEGRATION_SETTINGS if key in SETTINGS})
    # select_device() calls torch.set_num_threads(NUM_THREADS) on every train/val;
    # its module global is the only switch, so set it rather than fight it.
    torch_utils.NUM_THREADS = threads
    torch.set_num_threads(threads)
    return UltralyticsEnvironment(settings_dir=Path(os.environ["YOLO_CONFIG_DIR"]), threads=threads)


def _provide_fonts(config_dir: Path) -> None:
    """Plots ask for Arial.ttf and download it when missing; hand them matplotlib's DejaVu instead."""
    import matplotlib

    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = config_dir / name
        if not target.exists() and dejavu.exists():
            shutil.copyfile(dejavu, target)
