"""Root test configuration: keep every test's side effects inside its tmp dirs, and a real S3 API
(moto's server on loopback) for every folder that needs one."""

import os
from collections.abc import Iterator

import pytest
from testkit import free_port

# ultralytics and MLflow must never write into the user's home or reach the network from tests.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

# A deployment's settings in the shell that runs the tests (a Label Studio, an S3 store, a release
# policy) must not change what a test sees: each test that wants one sets it itself.
for _name in [
    name
    for name in os.environ
    if name.startswith(("LABEL_STUDIO_", "MASKOPS_STORE_", "MASKOPS_S3_", "MASKOPS_CANARY_"))
    or name
    in {
        "MASKOPS_HOME",
        "MASKOPS_RELEASE_POLICY",
        "MASKOPS_MIN_IMPROVEMENT",
        "MASKOPS_LABEL_STUDIO_PROJECT",
        "MASKOPS_IO_MANAGER",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_REGISTRY_URI",
    }
]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API (moto's server) on 127.0.0.1; one per test session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh, empty bucket on the moto server (dummy credentials for this test only)."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    name = "maskops-" + "".join(c for c in request.node.name.lower() if c.isalnum())[:50]
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name
