"""The real dagster-daemon, against the code location (a gRPC code server on loopback): reviewed
labels written to the store start one retraining run with no call from the test, tagged with the
trigger and why, and no second one while it is queued.

The instance's run queue is closed (max_concurrent_runs: 0), so the run the sensor requests stays
QUEUED instead of training for minutes: a queued run with the right tags is the proof.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from testkit import stop_process_group
from trigger_builders import LabelFactory

from maskops_assets.constants import RETRAIN_JOB, TRIGGER_REASON_TAG, TRIGGER_TAG
from maskops_assets.definitions import PROJECT_ROOT
from maskops_assets.store import LocalObjectStore
from maskops_assets.triggers.tags import NEW_LABEL_IMAGES_TAG

pytestmark = pytest.mark.slow

DAGSTER_YAML = """\
storage:
  sqlite:
    base_dir: {home}
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 0
"""

WORKSPACE_YAML = """\
load_from:
  - python_module:
      module_name: maskops_assets.definitions
      attribute: defs
      location_name: maskops
      working_directory: {root}
      executable_path: {python}
"""

DEADLINE_S = 240


@pytest.fixture
def daemon(tmp_path: Path):
    """A running dagster-daemon with its own DAGSTER_HOME and MASKOPS_HOME; stopped afterwards."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML.format(home=dagster_home))
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(WORKSPACE_YAML.format(root=PROJECT_ROOT, python=sys.executable))
    maskops_home = tmp_path / "maskops_home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASKOPS_", "DAGSTER_", "MLFLOW_"))}
    env.update(
        DAGSTER_HOME=str(dagster_home),
        MASKOPS_HOME=str(maskops_home),
        MASKOPS_SENSOR_INTERVAL_S="1",
        MASKOPS_LABEL_THRESHOLD="3",
        MASKOPS_RETRAIN_COOLDOWN_S="0",
    )
    log = tmp_path / "daemon.log"
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        # Create and stamp the SQLite storages before the daemon opens them: two processes creating
        # the same databases at once race in alembic (seen once: the daemon's schedule storage failed
        # its revision check, and no sensor ever ticked).
        instance.get_run_records(limit=1)
        instance.all_instigator_state()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the code server goes down with it
            )
        try:
            yield instance, LocalObjectStore(maskops_home / "store"), log
        finally:
            stop_process_group(proc)


def _label_sensor_ticks_after(instance: dg.DagsterInstance, after: float) -> list:
    from dagster._core.scheduler.instigation import InstigatorType

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == "label_threshold_sensor":
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=20)
            return [tick for tick in ticks if tick.timestamp > after]
    return []


def _wait(condition, what: str, log: Path):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-4000:]
    pytest.fail(f"no {what} within {DEADLINE_S}s; daemon log tail:\n{tail}")


def test_labels_in_the_store_start_one_tagged_retraining(daemon, tmp_path: Path) -> None:
    instance, store, log = daemon
    factory = LabelFactory(store, tmp_path / "label_work")
    factory.batch(2)
    factory.batch(2)

    queued = dg.RunsFilter(job_name=RETRAIN_JOB, statuses=[dg.DagsterRunStatus.QUEUED])
    runs = _wait(lambda: instance.get_run_records(queued), "queued retraining run", log)
    run = runs[0].dagster_run
    assert run.tags[TRIGGER_TAG] == "label_threshold"
    assert run.tags[NEW_LABEL_IMAGES_TAG] == "4"
    assert "4 reviewed image(s)" in run.tags[TRIGGER_REASON_TAG]
    assert run.tags["dagster/sensor_name"] == "label_threshold_sensor"

    # the sensor keeps ticking, and skips while that run is queued
    created = runs[0].create_timestamp.timestamp()
    ticks = _wait(
        lambda: [t for t in _label_sensor_ticks_after(instance, created + 1) if t.status.value == "SKIPPED"],
        "skipped label sensor tick after the run",
        log,
    )
    assert any(run.run_id in (t.skip_reason or "") for t in ticks), [t.skip_reason for t in ticks]
    assert len(instance.get_run_records(dg.RunsFilter(job_name=RETRAIN_JOB))) == 1
    instance.report_run_canceled(run)  # never launched: nothing else to stop
