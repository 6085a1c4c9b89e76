"""The demo's console: one plain line per stage (time stamp, stage n/N, run id and UI link), no escape
codes when the output is not a terminal; `python -m maskops_assets.demo` is the entry point."""

from __future__ import annotations

import io
import subprocess
import sys

from maskops_assets.demo.console import Console
from maskops_assets.demo.settings import DemoSettings


def test_a_stage_is_one_plain_line_with_its_run_and_link() -> None:
    out = io.StringIO()
    settings = DemoSettings()
    console = Console(out)
    run_id = "4fb1e141-063c-4096-9c4f-929c378b9968"
    console.stage(2, 9, "v1 released", run_id=run_id, url=settings.run_url(run_id))
    console.say("simulated annotator: 3 frame(s) reviewed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "stage 2/9: v1 released  run 4fb1e141 http://127.0.0.1:3000/runs/" + run_id in lines[0]
    assert lines[0].startswith("[demo ")
    assert "\x1b[" not in out.getvalue() and "\r" not in out.getvalue()


def test_the_module_is_the_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "maskops_assets.demo", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--label-threshold" in done.stdout
    assert "\x1b[" not in done.stdout + done.stderr
