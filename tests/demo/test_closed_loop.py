"""The demo at CI scale, with the same processes as ``make demo`` (Dagster's daemon and webserver with
the code location, Label Studio, the edge agent as its own ``maskops-edge`` process): the loop closes
by itself. Asserted: a second model version serves on the agent (its /healthz and status.json), it
was released by the sensors (the runs' tags name the triggers), the agent was never restarted, and
the release's metadata carries the lineage from its ingest batches through the dataset version and
the MLflow run to the release.

Nothing here depends on what the tiny models learned: the CI scale's gates and release policy accept
any candidate (``DemoSettings.ci``), and the canary watch cannot find it degraded.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pytest

from maskops_assets.constants import TRIGGER_TAG
from maskops_assets.demo.console import Console
from maskops_assets.demo.latency import TIMELINE, split, table
from maskops_assets.demo.loop import run_demo
from maskops_assets.demo.processes import group_alive
from maskops_assets.demo.settings import DemoSettings
from maskops_contracts.keys import agent_status_key

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _instance(settings: DemoSettings) -> Iterator[dg.DagsterInstance]:
    """The demo's Dagster instance (its dagster.yaml reads DAGSTER_HOME from the environment)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(settings.dagster_home))
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            yield instance


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("demo_home")
    settings = DemoSettings.ci(
        home, dagster_port=_free_port(), labelstudio_port=_free_port(), agent_port=_free_port()
    )
    return run_demo(settings, Console(), report=True)


def test_a_second_model_serves_on_the_agent_without_a_restart(outcome) -> None:
    assert outcome.v1 and outcome.v2 and outcome.v1 != outcome.v2
    cameras = outcome.health["cameras"]
    assert {c["model_version"] for c in cameras.values()} == {outcome.v2}
    # one agent process from first model to last: it swapped, it did not restart
    assert outcome.health["uptime_s"] > 0
    log = outcome.agent_log.read_text()
    swaps = [json.loads(line) for line in log.splitlines() if '"model_swapped"' in line]
    assert {(s["camera_id"], s["model_version"]) for s in swaps} >= {
        (cam, outcome.v2) for cam in outcome.settings.cameras
    }
    assert log.count('"agent_starting"') == 1
    # every process the demo started is gone
    assert not group_alive(outcome.agent_pid)


def test_status_json_reports_the_second_model(outcome) -> None:
    from maskops_assets.store import LocalObjectStore

    status = json.loads(LocalObjectStore(outcome.settings.store_root).get_bytes(agent_status_key("demo-box")))
    running = {camera["model_version"] for camera in status["cameras"].values()}
    assert outcome.v2 in running


def test_sensors_released_it_and_the_tags_say_which(outcome) -> None:
    with _instance(outcome.settings) as instance:
        retrain = instance.get_run_by_id(outcome.retrain_run)
        promote = instance.get_run_by_id(outcome.promote_run)
    assert retrain.tags[TRIGGER_TAG] == "label_threshold"
    assert retrain.tags["dagster/sensor_name"] == "label_threshold_sensor"
    assert promote.job_name == "promote_canary"
    assert promote.tags[TRIGGER_TAG] == "canary_watch"
    assert promote.tags["dagster/sensor_name"] == "canary_watch_sensor"


def test_lineage_from_frames_to_release(outcome) -> None:
    release = outcome.release_metadata
    assert release["model_version"] == outcome.v2
    assert release["role"] == "canary"
    assert release["sample_batches"], "the release names the ingest batches its frames came in"
    assert release["dataset_version"].startswith("dataset-v")
    assert "mlflow_run" in release
    with _instance(outcome.settings) as instance:
        ingested = {
            record.partition_key
            for record in instance.fetch_materializations(dg.AssetKey("collected_frames"), limit=100).records
        }
    assert set(release["sample_batches"]) <= ingested
    assert outcome.comparison is not None and outcome.comparison.picture.is_file()


def test_latency_split_covers_the_loop(outcome) -> None:
    """bench/loop_latency.py's split, on the recorded timeline: every stage measured, none negative,
    together the time from the Nth label landing in the store to the canary camera's swap."""
    timeline = json.loads((outcome.settings.demo_dir / TIMELINE).read_text())
    assert timeline["retrain_run"] == outcome.retrain_run and timeline["v2"] == outcome.v2
    with _instance(outcome.settings) as instance:
        stages = split(instance, timeline, outcome.agent_log)
    assert len(stages) == 7 and all(stage.seconds >= 0 for stage in stages)
    assert [stage.name for stage in stages if stage.training] == [stages[3].name]
    assert stages[3].seconds > 0  # the trained_model step took time
    assert "dominant stage" in table(stages)
