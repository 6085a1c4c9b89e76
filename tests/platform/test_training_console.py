"""What training writes to the console: one plain line per epoch, nothing of ultralytics' own, and no
ANSI escape code when the output is not a terminal.

The training runs in a child process whose stdout and stderr are this test's file descriptors, captured
by ``capfd`` (pipes, not terminals): everything any library writes, at any level, is seen, however
ultralytics' logger was set up by earlier tests in this process.
"""

import json
import logging
import re
import subprocess
import sys
import textwrap
from io import StringIO
from pathlib import Path

import pytest

EPOCHS = 2
PROGRESS = re.compile(
    r"^epoch (\d+)/(\d+): map50 \d\.\d{3} map50_95 \d\.\d{3} box_loss \d+\.\d{3} \(\d+ s\)$"
)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from maskops_assets.synthetic.dataset import generate_dataset
    from maskops_assets.training.trainer import TrainConfig, train_detector

    out = Path(sys.argv[1])
    data_yaml = generate_dataset(out / "data", 16, seed=0, image_size=64)
    cfg = TrainConfig(
        epochs=int(sys.argv[2]), imgsz=64, batch=8, nbs=8, mosaic=0.0, close_mosaic=0, threads=2
    )
    result = train_detector(data_yaml, cfg, out / "runs", progress=lambda p: print(p.line(), flush=True))
    print("RESULT " + json.dumps({"epochs_run": result.epochs_run, "optimizer_used": result.optimizer_used}))
    """
)


@pytest.mark.slow
def test_training_console_is_one_plain_line_per_epoch(tmp_path: Path, capfd, monkeypatch):
    monkeypatch.delenv("MASKOPS_ULTRALYTICS_VERBOSE", raising=False)
    monkeypatch.delenv("YOLO_VERBOSE", raising=False)
    capfd.readouterr()
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(EPOCHS)], timeout=600)
    out, err = capfd.readouterr()
    assert done.returncode == 0, err[-3000:]
    assert "\x1b[" not in out and "\x1b[" not in err
    lines = [line for line in out.splitlines() if line.strip()]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["epochs_run"] == EPOCHS
    # stdout is our progress, one line per epoch, and nothing else: no argument dump, layer table,
    # progress bars or "Validating best.pt" from ultralytics
    assert len(lines) == EPOCHS + 1, out
    epochs = [PROGRESS.match(line) for line in lines[:-1]]
    assert all(epochs), lines
    assert [(int(m[1]), int(m[2])) for m in epochs] == [(e, EPOCHS) for e in range(1, EPOCHS + 1)]
    assert "Ultralytics" not in out + err and "engine/trainer" not in out + err


def test_ultralytics_is_quiet_and_uncoloured_off_a_terminal(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MASKOPS_ULTRALYTICS_VERBOSE", raising=False)
    from maskops_assets.training.ultralytics_env import prepare_ultralytics

    prepare_ultralytics(tmp_path / "settings", threads=1)
    from ultralytics.utils import LOGGER, TQDM, colorstr

    assert LOGGER.getEffectiveLevel() == logging.WARNING
    assert TQDM(range(3)).disable  # no progress bar is drawn
    # a stream that is not a terminal gets the message without its colours
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    LOGGER.addHandler(handler)
    try:
        from maskops_assets.training.ultralytics_env import quiet_console

        quiet_console()
        LOGGER.info(colorstr("optimizer:") + " AdamW")  # below WARNING: not written at all
        LOGGER.warning(colorstr("bold", "train:") + " no labels found")
    finally:
        LOGGER.removeHandler(handler)
    assert stream.getvalue().strip().endswith("train: no labels found")
    assert "\x1b[" not in stream.getvalue() and "AdamW" not in stream.getvalue()


def test_verbose_switch_gives_ultralytics_its_console_back(tmp_path: Path, monkeypatch):
    from maskops_assets.training.ultralytics_env import prepare_ultralytics, quiet_console

    monkeypatch.setenv("MASKOPS_ULTRALYTICS_VERBOSE", "1")
    try:
        prepare_ultralytics(tmp_path / "settings", threads=1)
        from ultralytics.utils import LOGGER

        assert LOGGER.getEffectiveLevel() == logging.INFO
    finally:
        quiet_console(verbose=False)
