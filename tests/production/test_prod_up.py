"""``make prod-up`` / ``make prod-down`` (scripts/prod-up.sh, scripts/prod-down.sh) on loopback:
every server comes up, the Dagster webserver serves the maskops location from its gRPC code server,
MLflow keeps runs in PostgreSQL and artifacts in S3, and prod-down stops every process it started."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ("s3", "mlflow", "grpc", "daemon", "webserver")
LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { jobs { name } } } } } } } }"""


def _read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, value = line.removeprefix("export ").split("=", 1)
            env[key] = value
    return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def prod_dir():
    """A fresh MASKOPS_PROD_DIR outside pytest's root-only tmp dir (the database may run as `postgres`)."""
    path = Path(tempfile.mkdtemp(prefix="maskops-prod-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _script(name: str, prod_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / name)],
        # kernel-picked ports: another profile (another test run on this machine) may be starting now
        env={**os.environ, "MASKOPS_PROD_DIR": str(prod_dir), "MASKOPS_PROD_ANY_PORT": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_prod_up_starts_the_profile_and_prod_down_stops_it(prod_dir: Path, monkeypatch):
    up = _script("prod-up.sh", prod_dir)
    pids: dict[str, int] = {}
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        env = _read_env(prod_dir / "env")
        pids = {name: int((prod_dir / "run" / f"{name}.pid").read_text()) for name in PROCESSES}
        assert all(_alive(pid) for pid in pids.values()), pids
        web = f"http://127.0.0.1:{env['MASKOPS_PROD_WEB_PORT']}"
        assert f"Dagster UI   {web}" in up.stdout

        # the webserver serves the maskops location from the separate gRPC code server
        request = urllib.request.Request(
            f"{web}/graphql",
            data=json.dumps({"query": LOCATION_QUERY}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
        assert [(e["name"], e["loadStatus"]) for e in entries] == [("maskops", "LOADED")]
        jobs = {j["name"] for r in entries[0]["locationOrLoadError"]["repositories"] for j in r["jobs"]}
        assert "maskops_main" in jobs

        # MLflow through the maskops resource: the run in Postgres, its artifact in the bucket
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        from maskops_assets.resources import MlflowResource

        registry = MlflowResource().registry()
        artifact = prod_dir / "home" / "note.txt"
        artifact.write_text("stored in S3")
        with registry.run("prod-up-smoke") as run_id:
            registry.log_artifact(run_id, artifact, "smoke")
        assert registry.client.get_run(run_id).info.status == "FINISHED"
        s3 = boto3.client("s3", endpoint_url=env["MASKOPS_S3_ENDPOINT_URL"], region_name="us-east-1")
        body = s3.get_object(
            Bucket=env["MASKOPS_STORE_BUCKET"], Key=f"mlflow/maskops/{run_id}/artifacts/smoke/note.txt"
        )["Body"].read()
        assert body == b"stored in S3"
    finally:
        down = _script("prod-down.sh", prod_dir)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not [name for name, pid in pids.items() if _alive(pid)]
    assert not list((prod_dir / "run").glob("*.pid"))
    assert "postgres stopped" in down.stdout
