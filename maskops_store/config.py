"""Where the object store is, as configuration both sides read: ``StoreConfig`` and ``open_store``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from maskops_store.keys import normalize_prefix
from maskops_store.local import LocalStore
from maskops_store.s3 import S3Store


class StoreConfig(BaseModel):
    """Where the object store is. ``kind: local`` needs ``root``; ``kind: s3`` needs ``bucket``.

    ``prefix`` puts every key under ``<prefix>/`` (in the bucket, or under ``root``); the edge's
    ``store.prefix`` and the platform's ``MASKOPS_STORE_PREFIX`` must agree, or the platform's
    ingest sensor lists where no camera uploads.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "s3"] = "local"
    #: local: the directory that plays the bucket.
    root: Path | None = None
    bucket: str | None = None
    #: Key prefix inside the bucket (or the directory); empty: none.
    prefix: str = ""
    #: S3-compatible endpoint (MinIO, moto); None means AWS itself.
    endpoint_url: str | None = None
    region: str = "us-east-1"
    #: Leave both unset to use boto3's usual chain (AWS_ACCESS_KEY_ID env, ~/.aws, instance role).
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        normalize_prefix(value)  # UnsafeKeyError is a ValueError: pydantic reports it on the field
        return value

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
        """A short name of the store for log lines (no secrets)."""
        prefix = normalize_prefix(self.prefix)
        if self.kind == "local":
            return f"local:{self.root}" + (f"/{prefix}" if prefix else "")
        return f"s3://{self.bucket}/{prefix}" + (f" via {self.endpoint_url}" if self.endpoint_url else "")


def open_store(cfg: StoreConfig, *, max_attempts: int | None = None) -> LocalStore | S3Store:
    """The store ``cfg`` describes; ``max_attempts`` caps botocore's attempts per S3 request."""
    if cfg.kind == "local":
        assert cfg.root is not None  # checked by StoreConfig
        return LocalStore(cfg.root, cfg.prefix)
    assert cfg.bucket is not None
    return S3Store(
        cfg.bucket,
        cfg.prefix,
        cfg.endpoint_url,
        cfg.region,
        access_key_id=cfg.access_key_id,
        secret_access_key=cfg.secret_access_key.get_secret_value() if cfg.secret_access_key else None,
        connect_timeout_s=cfg.connect_timeout_s,
        read_timeout_s=cfg.read_timeout_s,
        max_attempts=max_attempts,
    )
