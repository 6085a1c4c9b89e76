"""The processes a demo starts, each in its own process group, and all of them stopped on the way out.

``Supervisor`` starts a command in a new session (its own process group: a server's children, such
as Dagster's code server or Label Studio's workers, go down with it), writes its output to a log
file (never to the console: no progress bars or colour codes there), and on ``stop_all`` (or leaving
the ``with`` block, Ctrl-C included) sends SIGTERM to every group, newest first, then SIGKILL to any
that outlived the grace period. ``interrupt_on_sigterm`` makes a SIGTERM to the demo behave like
Ctrl-C, so a CI runner's timeout also stops everything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Started:
    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class ProcessExited(RuntimeError):
    """A process the demo depends on ended; the message names it and quotes its log."""


class Supervisor:
    """Starts processes in their own process groups and stops every one of them."""

    def __init__(self, log_dir: Path, grace_s: float = 20.0) -> None:
        self.log_dir = log_dir
        self.grace_s = grace_s
        self.started: list[Started] = []

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path | None = None) -> Started:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: Ctrl-C at the terminal reaches only us
            )
        started = Started(name, process, log)
        self.started.append(started)
        return started

    def check(self) -> None:
        """Raise ``ProcessExited`` when a started process is no longer running."""
        for s in self.started:
            if not s.alive():
                raise ProcessExited(
                    f"{s.name} (pid {s.pid}) exited with {s.process.returncode}; "
                    f"its log {s.log}:\n{s.log_tail()}"
                )

    def stop_all(self) -> list[str]:
        """SIGTERM every group (newest first), wait, SIGKILL what is left; returns what was stopped."""
        stopped = []
        for s in reversed(self.started):
            if _signal_group(s.pid, signal.SIGTERM):
                stopped.append(s.name)
        deadline = time.monotonic() + self.grace_s
        for s in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # the leader may be gone while its children still run: kill whatever is left of the group
            _signal_group(s.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.process.wait(timeout=10)
        self.started.clear()
        return stopped


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still exists (zombies aside)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def interrupt_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt in the main thread, like Ctrl-C; and Ctrl-C does so even when
    the demo was started with SIGINT ignored (a background job of a non-interactive shell)."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
