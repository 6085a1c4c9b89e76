"""The camera watchdog: the one place a camera's pipeline is restarted, with backoff."""

from __future__ import annotations

import random
import threading

import pytest

from edge_agent.camera_worker import CameraWorker
from edge_agent.config import CameraConfig, WatchdogConfig
from edge_agent.metrics import AgentMetrics
from edge_agent.model_sync import ModelHolder
from edge_agent.watchdog import Watchdog


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    dog = Watchdog("cam", lambda: "ended", stop=threading.Event(), initial_s=1, max_s=8)
    for attempt, step in [(1, 1), (2, 2), (3, 4), (4, 8), (9, 8)]:
        delays = [dog.delay(attempt) for _ in range(200)]
        assert step * 0.5 <= min(delays) and max(delays) <= step
        assert max(delays) - min(delays) > step * 0.3  # really jittered


def test_restart_backoff_starts_anew_after_a_run_that_made_progress() -> None:
    """A pipeline that fails three times in a row waits longer each time; once it has run and
    read frames, its next failure waits the short first step again, not the cap."""
    stop = threading.Event()
    delivered = iter([False, False, False, True, False])
    frames = [0]
    waits: list[float] = []
    restarts: list[int] = []

    def run_once():
        if next(delivered):
            frames[0] += 5
        return "restart"

    def wait(delay: float) -> bool:
        waits.append(delay)
        if len(waits) == 5:
            stop.set()
        return stop.is_set()

    dog = Watchdog(
        "cam",
        run_once,
        stop=stop,
        initial_s=1.0,
        max_s=60.0,
        progress=lambda: frames[0],
        on_restart=lambda attempt, delay: restarts.append(attempt),
        rng=random.Random(1),
        wait=wait,
    )
    assert dog.run() == "stopped"
    assert restarts == [1, 2, 3, 1, 2]  # attempts 1, 2, 3, then 1 again after frames, then 2
    steps = [1, 2, 4, 1, 2]
    assert [step * 0.5 <= w <= step for w, step in zip(waits, steps, strict=True)] == [True] * 5
    assert dog.restarts == 5


@pytest.mark.parametrize("outcome", ["ended", "failed", "stopped"])
def test_an_end_for_good_is_not_restarted(outcome: str) -> None:
    runs: list[int] = []

    def run_once():
        runs.append(1)
        return outcome

    dog = Watchdog("cam", run_once, stop=threading.Event(), initial_s=1, max_s=2, wait=lambda d: False)
    assert dog.run() == outcome and runs == [1]


def test_one_reconnect_policy_set_in_the_source() -> None:
    """The camera's restarts follow its source's reconnect settings (one set of settings)."""
    cfg = CameraConfig.model_validate(
        {
            "camera_id": "cam",
            "source": {"kind": "stream", "uri": "rtsp://h/s", "reconnect_initial_s": 3, "reconnect_max_s": 7},
        }
    )
    worker = CameraWorker(
        cfg,
        ModelHolder("cam"),
        outbox=None,  # type: ignore[arg-type]
        telemetry=None,  # type: ignore[arg-type]
        metrics=AgentMetrics(),
        watchdog=WatchdogConfig(),
    )
    assert (worker.supervisor.initial_s, worker.supervisor.max_s) == (3, 7)
