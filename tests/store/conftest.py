"""Fixtures for the shared store tests, on the root conftest's moto server and fresh buckets."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def s3_client(s3_endpoint: str, s3_bucket: str):
    """A plain boto3 client on the moto server (to look at the bucket behind a store's back)."""
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def unused_endpoint() -> str:
    """An http endpoint on loopback that nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
