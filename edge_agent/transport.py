"""Object-store transports: where samples, telemetry, models and the manifest live.

The edge's view of the shared store in ``maskops_store`` (the platform reads the same store
through ``maskops_assets.store``): one key rule, one durable atomic writer, one S3 error mapping
and one key ``prefix`` on both sides. This module adds only the small ``Transport`` protocol the
agent's outbox and model sync use (``put``/``get``/``exists``/``describe``) and the edge's S3
client settings (short timeouts, no botocore retries).

``LocalDirTransport`` (a directory, the embedded default) and ``S3Transport`` (S3 / MinIO
through botocore, the client made on first use) both make an object appear whole or not at all:
a reader never sees half a file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from maskops_store import (
    LocalStore,
    ObjectNotFoundError,
    S3Store,
    StoreConfig,
    StoreError,
    write_atomic,
)

#: The store could not be reached or refused a request (or a key is unsafe: ``UnsafeKeyError``
#: is one too); the message names the key and the store.
TransportError = StoreError

__all__ = [
    "LazyClient",
    "LocalDirTransport",
    "S3Transport",
    "StoreConfig",
    "Transport",
    "TransportError",
    "build_transport",
    "make_s3_client",
    "write_atomic",
]


class Transport(Protocol):
    """A key/value object store. Implementations raise ``TransportError`` when the store fails."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing any object there; atomic for readers."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object at ``key``, or None when there is none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        ...

    def describe(self) -> str:
        """A short name of the store for log lines (no secrets)."""
        ...


class _TransportMethods:
    """``Transport``'s ``put``/``get`` on top of a ``maskops_store`` store's ``put_bytes``/``get_bytes``."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.put_bytes(key, data, content_type)  # type: ignore[attr-defined]

    def get(self, key: str) -> bytes | None:
        try:
            return self.get_bytes(key)  # type: ignore[attr-defined]
        except ObjectNotFoundError:
            return None


class LocalDirTransport(_TransportMethods, LocalStore):
    """A directory as the object store: ``root[/prefix]/<key>``, written with ``write_atomic``."""

    def __init__(self, root: Path, prefix: str = "") -> None:
        super().__init__(root, prefix)


def make_s3_client(
    endpoint_url: str | None,
    region: str,
    *,
    access_key_id: str | None,
    secret_access_key: str | None,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> Any:
    """An S3 client straight from botocore, with one attempt per request.

    Not through boto3: its session adds the managed-transfer layer (s3transfer) and resource
    machinery the agent never uses, about 12 MB of resident memory (measured: botocore alone 34
    MB for import and client, boto3 46 MB). Credentials come from the arguments or botocore's
    usual chain (environment, ~/.aws, instance role), as with boto3.
    """
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    if access_key_id is not None or secret_access_key is not None:
        session.set_credentials(access_key_id, secret_access_key)
    config = Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"max_attempts": 1, "mode": "standard"},
    )
    return session.create_client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


class LazyClient:
    """An S3 client made on first use, once, whichever thread asks first.

    botocore and an S3 client cost the agent some 30 MB; they are imported and built when the
    store is first used (the first upload or manifest read), not when the agent is configured,
    and ``client_count`` says how many were built (one per transport: the outbox and model
    sync share the agent's transport).
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._client: Any = None
        self._lock = threading.Lock()
        self.client_count = 0

    @property
    def created(self) -> bool:
        return self._client is not None

    def get(self) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
                    self.client_count += 1
                client = self._client
        return client

    def __getattr__(self, name: str) -> Any:  # get_object, put_object... on the real client
        return getattr(self.get(), name)


class S3Transport(_TransportMethods, S3Store):
    """An S3 bucket through botocore. PutObject is atomic: an object is visible whole or not at all.

    Timeouts are short and botocore makes one attempt per request: the outbox owns retrying
    (with backoff across restarts), so stacking botocore's retries on top would only stall the
    upload thread during an outage. The boto3 client is made on first use (``LazyClient``).
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
    ) -> None:
        self.lazy_client = LazyClient(
            lambda: make_s3_client(
                endpoint_url,
                region,
                access_key_id=access_key_id,
                secret_access_key=secret_access_key,
                connect_timeout_s=connect_timeout_s,
                read_timeout_s=read_timeout_s,
            )
        )
        super().__init__(bucket, prefix, endpoint_url, region, client=self.lazy_client)


def build_transport(cfg: StoreConfig) -> Transport:
    """The transport ``cfg`` describes."""
    if cfg.kind == "local":
        assert cfg.root is not None  # checked by StoreConfig
        return LocalDirTransport(cfg.root, cfg.prefix)
    assert cfg.bucket is not None
    return S3Transport(
        cfg.bucket,
        prefix=cfg.prefix,
        endpoint_url=cfg.endpoint_url,
        region=cfg.region,
        access_key_id=cfg.access_key_id,
        secret_access_key=cfg.secret_access_key.get_secret_value() if cfg.secret_access_key else None,
        connect_timeout_s=cfg.connect_timeout_s,
        read_timeout_s=cfg.read_timeout_s,
    )
