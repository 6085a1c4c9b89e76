"""The Dagster webserver serves the maskops location: its GraphQL API lists our assets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from testkit import free_port

REPO = Path(__file__).resolve().parents[2]
QUERY = "{ assetNodes { assetKey { path } groupName } }"


@pytest.mark.slow
def test_webserver_graphql_lists_the_assets(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "MASKOPS_HOME": str(tmp_path / "maskops")}
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            str(REPO / "workspace.yaml"),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        nodes = _query_when_ready(f"http://127.0.0.1:{port}/graphql", server, timeout_s=240)
        groups = {node["assetKey"]["path"][-1]: node["groupName"] for node in nodes}
        # every defs module of the folder the location loads, model side included
        assert groups == {
            "collected_frames": "data",
            "labeling_tasks": "data",
            "reviewed_labels": "data",
            "labeled_dataset": "data",
            "trained_model": "training",
            "model_evaluation": "training",
            "deployment_release": "release",
            "canary_verdict": "release",
            "drift_report": "monitoring",
            "edge_fleet": "monitoring",
            "shadow_report": "monitoring",
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _query_when_ready(url: str, server: subprocess.Popen, *, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {server.returncode} before answering")
        try:
            response = requests.post(url, json={"query": QUERY}, timeout=10)
            nodes = response.json().get("data", {}).get("assetNodes") or []
            if nodes:
                return nodes
            last = response.text[:500]
        except (requests.ConnectionError, requests.Timeout, ValueError) as err:
            last = str(err)
        time.sleep(1)
    pytest.fail(f"no asset list from {url} within {timeout_s}s; last answer: {last}")
