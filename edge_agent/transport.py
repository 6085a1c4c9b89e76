"""Object-store transports: where samples, telemetry, models and the manifest live.

Two implementations of one small ``Transport`` protocol, using the keys of
ARCHITECTURE.md unchanged: ``LocalDirTransport`` (a directory, the embedded default)
and ``S3Transport`` (S3 / MinIO through boto3). Both make an object appear whole or
not at all: a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class TransportError(RuntimeError):
    """The store could not be reached or refused a request; the message names the key and the store."""


class StoreConfig(BaseModel):
    """Where the object store is. ``kind: local`` needs ``root``; ``kind: s3`` needs ``bucket``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "s3"] = "local"
    #: local: the directory that plays the bucket.
    root: Path | None = None
    bucket: str | None = None
    #: S3-compatible endpoint (MinIO, moto); None means AWS itself.
    endpoint_url: str | None = None
    region: str = "us-east-1"
    #: Leave both unset to use boto3's usual chain (AWS_ACCESS_KEY_ID env, ~/.aws, instance role).
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _check_kind(self) -> StoreConfig:
        if self.kind == "local" and self.root is None:
            raise ValueError("store.kind 'local' needs store.root (a directory that plays the bucket)")
        if self.kind == "s3" and not self.bucket:
            raise ValueError("store.kind 's3' needs store.bucket")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both store.access_key_id and store.secret_access_key, or neither")
        return self

    def describe(self) -> str:
        if self.kind == "local":
            return f"local:{self.root}"
        return f"s3://{self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")


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


def _check_key(key: str) -> str:
    # Keys come from maskops_contracts builders; this guards a local root against escapes anyway.
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise TransportError(f"refusing unsafe object key {key!r}")
    return key


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a synced temp file in the same directory, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory, so os.replace is a rename on one filesystem: readers see all or nothing.
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class LocalDirTransport:
    """A directory as the object store: ``root/<key>``. Writes go to a temp file, then ``os.replace``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"local:{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            write_atomic(path, data)
        except OSError as err:
            raise TransportError(f"cannot write {key} under {self.root}: {err}") from err

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise TransportError(f"cannot read {key} under {self.root}: {err}") from err

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Transport:
    """An S3 bucket through boto3. PutObject is atomic: an object is visible whole or not at all.

    Timeouts are short and botocore's own retries are limited to one extra attempt: the
    outbox owns retrying (with backoff across restarts), so stacking botocore's retries on
    top would only stall the upload thread during an outage.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.endpoint_url = endpoint_url
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self._client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(
                connect_timeout=connect_timeout_s,
                read_timeout=read_timeout_s,
                retries={"max_attempts": 1, "mode": "standard"},
            ),
        )

    def describe(self) -> str:
        return f"s3://{self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    def _fail(self, action: str, key: str, err: Exception) -> TransportError:
        return TransportError(f"{action} {key} in {self.describe()} failed: {err}")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.put_object(
                Bucket=self.bucket, Key=_check_key(key), Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as err:
            raise self._fail("put", key, err) from err

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=_check_key(key))
            return response["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail("get", key, err) from err
        except BotoCoreError as err:
            raise self._fail("get", key, err) from err

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=_check_key(key))
            return True
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise self._fail("head", key, err) from err
        except BotoCoreError as err:
            raise self._fail("head", key, err) from err


def build_transport(cfg: StoreConfig) -> Transport:
    """The transport ``cfg`` describes."""
    if cfg.kind == "local":
        assert cfg.root is not None  # checked by StoreConfig
        return LocalDirTransport(cfg.root)
    assert cfg.bucket is not None
    return S3Transport(
        cfg.bucket,
        endpoint_url=cfg.endpoint_url,
        region=cfg.region,
        access_key_id=cfg.access_key_id,
        secret_access_key=cfg.secret_access_key.get_secret_value() if cfg.secret_access_key else None,
        connect_timeout_s=cfg.connect_timeout_s,
        read_timeout_s=cfg.read_timeout_s,
    )
