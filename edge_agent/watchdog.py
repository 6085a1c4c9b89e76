"""The camera watchdog (as Frigate's ``watchdog.py``): runs a camera's pipeline in its own thread
and starts it again, with exponential backoff, when it dies.

It is the one place where the agent reconnects to a camera. A pipeline run returns how it ended:

- ``restart``: it died (a stream that cannot be opened or dropped, a crash): wait and run again.
  The wait doubles from ``initial_s`` up to ``max_s`` (``backoff.backoff_delay``, jittered), and
  starts anew after a run that made progress (read frames), so a camera that ran for hours and
  then dropped is back after the short first step, not after the cap.
- ``ended``, ``failed``, ``stopped``: done for good (a file that ended or cannot be read does not
  heal; a stop was asked for).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Literal

from edge_agent.backoff import backoff_delay

logger = logging.getLogger("edge_agent.watchdog")

Outcome = Literal["ended", "failed", "stopped", "restart"]


class Watchdog:
    """Runs ``run_once`` (in the calling thread: a camera's own) until it ends for good or
    ``stop`` is set.

    progress: a counter that grows while the pipeline does useful work (frames read); a run that
    moved it resets the backoff. on_restart(attempt, delay_s) is called before each wait.
    wait: how to wait out a delay (default ``stop.wait``; returns True when stopped).
    """

    def __init__(
        self,
        name: str,
        run_once: Callable[[], Outcome],
        *,
        stop: threading.Event,
        initial_s: float,
        max_s: float,
        progress: Callable[[], int] = lambda: 0,
        on_restart: Callable[[int, float], None] | None = None,
        on_exit: Callable[[], None] | None = None,
        rng: random.Random | None = None,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.name = name
        self._run_once = run_once
        self.stop = stop
        self.initial_s = initial_s
        self.max_s = max_s
        self._progress = progress
        self._on_restart = on_restart
        self._on_exit = on_exit
        self._rng = rng or random.Random()
        self._wait = wait or stop.wait
        self.restarts = 0
        self.outcome: Outcome | None = None

    def delay(self, attempt: int) -> float:
        """Seconds before restart ``attempt`` (1, 2, ...): doubling, capped, jittered."""
        return backoff_delay(attempt, self.initial_s, self.max_s, self._rng)

    def run(self) -> Outcome:
        """Run the pipeline, restarting it as needed; returns how it ended for good."""
        attempt = 0  # restarts in a row without progress in between
        outcome: Outcome = "stopped"
        try:
            while not self.stop.is_set():
                before = self._progress()
                outcome = self._run_once()
                if outcome != "restart" or self.stop.is_set():
                    break
                attempt = 1 if self._progress() > before else attempt + 1
                self.restarts += 1
                delay = self.delay(attempt)
                if self._on_restart is not None:
                    self._on_restart(attempt, delay)
                if self._wait(delay):
                    break
            if self.stop.is_set() and outcome == "restart":
                outcome = "stopped"
            self.outcome = outcome
            return outcome
        finally:
            if self.outcome is None:
                self.outcome = "stopped" if self.stop.is_set() else "failed"
            if self._on_exit is not None:
                self._on_exit()
