"""The daemon killed mid-run and restarted, in the deployment's layout (the code server a process of
its own, as scripts/prod-up.sh runs it): a run in progress belongs to the code server, so it goes on
and ends successfully without the daemon, and is recorded as such; the queue waits while no daemon
runs; the restarted daemon drains it and the held-back training run completes. Nothing is lost or
launched twice. Runs end when the test releases them (a file), never by timing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from testkit import free_port, wait_until

pytestmark = pytest.mark.slow

LOCATION = Path(__file__).parent / "locations" / "queue_location.py"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(LOCATION.parent))
from queue_location import NAME_TAG, RUNS  # noqa: E402

IN_PROGRESS = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}


class Process:
    """A server process in its own process group, with its output in a log file."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = (cwd / f"{name}.log").open("ab")
        self.popen = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.log.close()


@pytest.fixture
def deployment(profile_home: Path, tmp_path: Path):
    """The test location's gRPC code server and a workspace pointing at it; yields a daemon starter."""
    gates = tmp_path / "gates"
    gates.mkdir()
    env = {**os.environ, "MASKOPS_TEST_GATE_DIR": str(gates)}
    port = free_port()
    server = Process(
        "grpc",
        [str(BIN / "dagster"), "api", "grpc", "-f", str(LOCATION), "-h", "127.0.0.1", "-p", str(port)],
        tmp_path,
        env,
    )
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n"
        f"      host: 127.0.0.1\n      port: {port}\n      location_name: queue_test\n"
    )
    daemons: list[Process] = []

    def start_daemon() -> Process:
        daemon = Process("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], tmp_path, env)
        daemons.append(daemon)
        return daemon

    health = [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)]
    try:
        wait_until(lambda: subprocess.run(health, capture_output=True).returncode == 0, "the code server")
        yield gates, start_daemon
    finally:
        for daemon in daemons:
            daemon.stop()
        from dagster._grpc.client import DagsterGrpcClient

        # the code server stops on its shutdown call (on SIGTERM alone it waits for that call)
        with contextlib.suppress(Exception):
            DagsterGrpcClient(port=port, host="127.0.0.1").shutdown_server()
        server.stop(timeout_s=30)


def _runs(instance) -> dict[str, dg.DagsterRun]:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="gated_job"))
    return {run.tags[NAME_TAG]: run for run in runs}


def _status(instance, name: str):
    run = _runs(instance).get(name)
    return run.status if run else None


def test_a_run_outlives_a_killed_daemon_and_the_restarted_daemon_drains_the_queue(deployment):
    release, start_daemon = deployment
    daemon = start_daemon()
    with dg.DagsterInstance.get() as instance:
        wait_until(lambda: set(_runs(instance)) == set(RUNS), "the sensor's three run requests")
        # STARTED: the run's worker process is up (a run the daemon leaves in STARTING, killed
        # between dequeuing and launching it, is what run_monitoring's start timeout fails)
        started = dg.DagsterRunStatus.STARTED
        first = wait_until(
            lambda: next((n for n in ("train-a", "train-b") if _status(instance, n) == started), None),
            "a training run to start",
        )
        second = "train-b" if first == "train-a" else "train-a"
        wait_until(lambda: _status(instance, "ingest-c") == started, "ingest-c to start")

        daemon.stop(signal.SIGKILL)  # mid-run: no sensor, no queue, no monitoring from here on
        assert _status(instance, first) == started

        (release / first).touch()
        (release / "ingest-c").touch()
        wait_until(lambda: _status(instance, first) == dg.DagsterRunStatus.SUCCESS, f"{first} to end")
        wait_until(lambda: _status(instance, "ingest-c") == dg.DagsterRunStatus.SUCCESS, "ingest-c to end")
        # nobody dequeues while the daemon is down
        assert _status(instance, second) == dg.DagsterRunStatus.QUEUED

        start_daemon()
        wait_until(lambda: _status(instance, second) in IN_PROGRESS, f"{second} to start after the restart")
        (release / second).touch()
        wait_until(lambda: _status(instance, second) == dg.DagsterRunStatus.SUCCESS, f"{second} to end")

        runs = _runs(instance)
        assert len(instance.get_runs(filters=dg.RunsFilter(job_name="gated_job"))) == 3  # none twice
        for name, run in runs.items():
            assert run.status == dg.DagsterRunStatus.SUCCESS, name
            outputs = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
            assert len(outputs.records) == 1, name  # the step ran once: nothing re-executed
