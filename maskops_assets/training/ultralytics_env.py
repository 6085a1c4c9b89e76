"""Put ultralytics in a known state before any training, validation or export.

ultralytics, left alone, (1) writes a settings file under the user's home,
(2) logs to MLflow by itself whenever mlflow is importable, creating runs nobody
asked for, (3) pins torch to ``cpu_count - 1`` threads (one on a 2-core box) on
every ``select_device`` call, and (4) tries to download a font and other assets.
maskops owns all four: settings live in a directory we choose, every third-party
logger callback is off (maskops logs to MLflow itself), the thread count is ours,
and the process is marked offline so nothing reaches for the network.

It also (5) keeps ultralytics off the console: left alone it prints its argument dump,
the model's layer table and a progress bar redrawn per batch, with ANSI colours even when
stdout is a file. maskops reports one line per epoch itself (through Dagster's logger),
so ultralytics logs warnings and errors only, never draws a progress bar, and never
writes an escape code to a stream that is not a terminal. ``MASKOPS_ULTRALYTICS_VERBOSE=1``
gives ultralytics its console back, for debugging (its progress bars then redraw with escape codes).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from maskops_contracts.threads import default_threads

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


#: Set to 1 to let ultralytics print its own console output (argument dump, layer table, progress bars).
VERBOSE_ENV = "MASKOPS_ULTRALYTICS_VERBOSE"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class UltralyticsEnvironment:
    settings_dir: Path
    threads: int


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
    verbose = quiet_on_import()
    _provide_fonts(Path(os.environ["YOLO_CONFIG_DIR"]))

    import torch
    import ultralytics.utils.torch_utils as torch_utils
    from ultralytics.utils import SETTINGS

    SETTINGS.update({key: False for key in _INTEGRATION_SETTINGS if key in SETTINGS})
    # select_device() calls torch.set_num_threads(NUM_THREADS) on every train/val;
    # its module global is the only switch, so set it rather than fight it.
    torch_utils.NUM_THREADS = threads
    torch.set_num_threads(threads)
    quiet_console(verbose=verbose)
    return UltralyticsEnvironment(settings_dir=Path(os.environ["YOLO_CONFIG_DIR"]), threads=threads)


def quiet_on_import() -> bool:
    """Keep ultralytics quiet from its first import on (it reads ``YOLO_VERBOSE`` then, e.g. for the
    "Creating new Ultralytics Settings" lines), unless ``$MASKOPS_ULTRALYTICS_VERBOSE`` asks for its
    console. Imports nothing; returns whether ultralytics may be verbose."""
    verbose = _wants_verbose()
    if not verbose:
        os.environ["YOLO_VERBOSE"] = "False"
    return verbose


def _wants_verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class _PlainFormatter(logging.Formatter):
    """ultralytics' message, without its ANSI colours unless the handler writes to a terminal."""

    def __init__(self, handler: logging.StreamHandler, wrapped: logging.Formatter | None) -> None:
        super().__init__("%(message)s")
        self._handler = handler
        self._wrapped = wrapped

    def format(self, record: logging.LogRecord) -> str:
        text = (self._wrapped or super()).format(record)
        stream = getattr(self._handler, "stream", None)
        isatty = getattr(stream, "isatty", None)
        try:
            colour = bool(isatty and isatty())
        except ValueError:  # a closed stream
            colour = False
        return text if colour else _ANSI.sub("", text)


def quiet_console(*, verbose: bool | None = None) -> None:
    """ultralytics logs WARNING and above only, draws no progress bar and writes no escape codes
    to a stream that is not a terminal. ``verbose`` (default: ``$MASKOPS_ULTRALYTICS_VERBOSE``)
    keeps its INFO lines (still uncoloured off a terminal) and its progress bars.
    """
    import ultralytics.utils as ultra_utils

    verbose = _wants_verbose() if verbose is None else verbose
    level = logging.INFO if verbose else logging.WARNING
    # TQDM switches itself off when VERBOSE is false or the logger is above INFO (ultralytics/utils/tqdm.py)
    ultra_utils.VERBOSE = verbose
    logger = ultra_utils.LOGGER
    logger.setLevel(level)
    for handler in logger.handlers:
        handler.setLevel(level)
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler.formatter, _PlainFormatter):
            handler.setFormatter(_PlainFormatter(handler, handler.formatter))


def _provide_fonts(config_dir: Path) -> None:
    """Plots ask for Arial.ttf and download it when missing; hand them matplotlib's DejaVu instead."""
    import matplotlib

    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = config_dir / name
        if not target.exists() and dejavu.exists():
            shutil.copyfile(dejavu, target)
