"""Fixtures of the production-profile tests: a real PostgreSQL 15 on loopback (initdb in a temporary
directory, started and stopped here), a database per test, and the profile's environment.

PostgreSQL refuses to run as root; when the tests run as root (a container), the server runs as
the ``postgres`` system user that Debian's package creates. The moto S3 server and its buckets come
from the root conftest (``s3_endpoint``, ``s3_bucket``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from testkit import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILE = REPO_ROOT / "deploy" / "production" / "dagster.yaml"
PG_BIN = Path(os.environ.get("MASKOPS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "maskops"


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    data_dir: Path

    def url(self, db: str) -> str:
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        """A new, empty database ``name``; its SQLAlchemy URL."""
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server on 127.0.0.1 for this test session (trust auth on loopback only)."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 is not installed at {PG_BIN} (apt-get install postgresql-15)")
    # not under pytest's tmp dir: that is private to root, and the server may run as `postgres`
    root = Path(tempfile.mkdtemp(prefix="maskops-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_server_user(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_server_user(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "pg.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer("127.0.0.1", port, PG_USER, data)
    finally:
        subprocess.run(
            _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test; its name."""
    name = "t_" + "".join(c for c in request.node.name.lower() if c.isalnum())[:50]
    postgres.create_database(name)
    return name


@pytest.fixture
def profile_env(
    postgres: PostgresServer, pg_database: str, s3_endpoint: str, s3_bucket: str, monkeypatch
) -> dict[str, str]:
    """The production profile's variables for this test's database and bucket (also set in os.environ)."""
    env = {
        "MASKOPS_PG_HOST": postgres.host,
        "MASKOPS_PG_PORT": str(postgres.port),
        "MASKOPS_PG_DB": pg_database,
        "MASKOPS_PG_USER": postgres.user,
        "MASKOPS_PG_PASSWORD": "unused-with-trust-auth",
        "MASKOPS_DAGSTER_BUCKET": s3_bucket,
        "MASKOPS_COMPUTE_LOG_PREFIX": "dagster/compute-logs",
        "MASKOPS_S3_ENDPOINT_URL": s3_endpoint,
        "MASKOPS_S3_REGION": "us-east-1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def profile_home(tmp_path: Path, profile_env: dict[str, str], monkeypatch) -> Path:
    """A DAGSTER_HOME holding the production profile's dagster.yaml, as scripts/prod-up.sh makes one."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROFILE, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home
