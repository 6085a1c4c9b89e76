"""A real Label Studio on loopback for the review tests: started once per session, stopped after.

The server runs from ``.venv-labelstudio`` (``scripts/labelstudio.sh --install-only`` creates it on
first use, as ``make labelstudio`` does), on a free port, with its data and its local-files
document root in temp dirs, a legacy token bootstrapped with ``--user-token``, and no calls home.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from testkit import free_port, stop_process_group

REPO = Path(__file__).resolve().parents[2]
USERNAME = "reviewer@maskops.test"
PASSWORD = "maskops-review-1"
LEGACY_TOKEN = "maskops0legacy0token0for0tests0000000000"
#: First start migrates a fresh SQLite database: minutes on a busy two-core runner.
START_DEADLINE_S = 600.0


@dataclass(frozen=True)
class LabelStudioServer:
    url: str
    legacy_token: str
    document_root: Path
    log: Path

    def personal_access_token(self) -> str:
        """A new personal access token (JWT refresh token) for the user, made with the legacy token."""
        response = httpx.post(
            f"{self.url}/api/token/", headers={"Authorization": f"Token {self.legacy_token}"}, timeout=30
        )
        response.raise_for_status()
        return response.json()["token"]


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def label_studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    install = subprocess.run(
        ["bash", str(REPO / "scripts" / "labelstudio.sh"), "--install-only"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert install.returncode == 0, f"could not create .venv-labelstudio:\n{install.stdout}\n{install.stderr}"
    base = tmp_path_factory.mktemp("labelstudio")
    data_dir, document_root = base / "data", base / "files"
    data_dir.mkdir()
    document_root.mkdir()
    port = free_port()
    log = base / "server.log"
    env = {
        **os.environ,
        "LOCAL_FILES_SERVING_ENABLED": "true",
        "LOCAL_FILES_DOCUMENT_ROOT": str(document_root),
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }
    command = [
        str(REPO / ".venv-labelstudio" / "bin" / "label-studio"),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--username",
        USERNAME,
        "--password",
        PASSWORD,
        "--user-token",
        LEGACY_TOKEN,
        "--enable-legacy-api-token",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"Label Studio exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Label Studio did not answer {url}/health in {START_DEADLINE_S:.0f} s:\n{_log_tail(log)}"
                )
            time.sleep(1.0)
        yield LabelStudioServer(url, LEGACY_TOKEN, document_root, log)
    finally:
        stop_process_group(process)


@pytest.fixture(scope="session")
def personal_token(label_studio_server: LabelStudioServer) -> str:
    return label_studio_server.personal_access_token()
