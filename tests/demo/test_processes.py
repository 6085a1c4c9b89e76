"""Ctrl-C at any point stops every process the demo started: each runs in its own process group,
and the supervisor signals the whole group (children included), SIGKILL after the grace period."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskops_assets.demo.processes import ProcessExited, Supervisor, group_alive

DEADLINE_S = 60

# A driver like the demo: starts two process groups whose leaders have children (one of them
# ignores SIGTERM, as a stuck server would), prints their group ids, then waits for Ctrl-C.
DRIVER = """
import sys, time
from pathlib import Path
from maskops_assets.demo.processes import Supervisor, interrupt_on_sigterm
interrupt_on_sigterm()
with Supervisor(Path(sys.argv[1]), grace_s=2) as sup:
    a = sup.start("server", ["bash", "-c", "sleep 300 & sleep 300 & wait"], env={"PATH": "/usr/bin:/bin"})
    b = sup.start("stubborn", ["bash", "-c", "trap '' TERM; sleep 300 & wait"], env={"PATH": "/usr/bin:/bin"})
    print(a.pid, b.pid, flush=True)
    try:
        while True:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        raise
"""


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {DEADLINE_S} s")
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_every_process_group(tmp_path: Path, sig: int) -> None:
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "logs")], stdout=subprocess.PIPE, text=True
    )
    groups = [int(pid) for pid in driver.stdout.readline().split()]
    assert len(groups) == 2 and all(group_alive(g) for g in groups)
    # the children were started: two sleeps in the first group
    _wait_until(lambda: len(_members(groups[0])) >= 3, "the server's children did not start")

    driver.send_signal(sig)  # what a terminal's Ctrl-C (or a CI runner's timeout) does to the demo
    assert driver.wait(timeout=DEADLINE_S) != 0
    assert "interrupted" in driver.stdout.read()
    for group in groups:
        _wait_until(lambda group=group: not _members(group), f"process group {group} still has processes")


def _members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of group ``pgid``."""
    out = subprocess.run(["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True).stdout
    return [
        int(p)
        for p, g, stat in (line.split() for line in out.splitlines())
        if int(g) == pgid and "Z" not in stat
    ]


def test_a_process_that_exits_is_named_with_its_log(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as sup:
        started = sup.start(
            "agent", ["bash", "-c", "echo cannot open the camera; exit 3"], env=dict(os.environ)
        )
        started.process.wait(timeout=DEADLINE_S)
        with pytest.raises(ProcessExited, match=r"(?s)agent .* exited with 3.*cannot open the camera"):
            sup.check()
