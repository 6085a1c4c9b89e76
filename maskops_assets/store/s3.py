"""The object store at scale: an S3 (or MinIO) bucket, optionally under a key prefix."""

from __future__ import annotations

from typing import Any

from maskops_assets.store.base import ObjectNotFoundError, ObjectStoreError, check_key

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class S3ObjectStore:
    """An ``ObjectStore`` on ``s3://bucket/prefix``; credentials come from the usual AWS chain."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        *,
        client: Any | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3ObjectStore needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self._client = client

    def describe(self) -> str:
        where = f" via {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _error(self, action: str, key: str, err: Exception) -> ObjectStoreError:
        return ObjectStoreError(f"{self.describe()}: {action} {key!r} failed: {err}")

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after is not None:
            kwargs["StartAfter"] = self.prefix + start_after
        keys: list[str] = []
        try:
            # S3 lists in UTF-8 byte order, which equals Python's str order for our ASCII keys
            for page in self._client.get_paginator("list_objects_v2").paginate(
                **kwargs, PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 1000)}
            ):
                keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        except (BotoCoreError, ClientError) as err:
            raise self._error("listing", prefix, err) from err
        return keys[:limit]

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._full(key))
            return response["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in _MISSING_CODES:
                raise ObjectNotFoundError(self.describe(), key) from None
            raise self._error("reading", key, err) from err
        except BotoCoreError as err:
            raise self._error("reading", key, err) from err

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        # a single PUT is atomic in S3: readers see the old object or the new one
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key), "Body": data}
        if content_type:
            kwargs["ContentType"] = content_type
        try:
            self._client.put_object(**kwargs)
        except (BotoCoreError, ClientError) as err:
            raise self._error("writing", key, err) from err

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._full(key))
            return True
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return False
            raise self._error("checking", key, err) from err
        except BotoCoreError as err:
            raise self._error("checking", key, err) from err

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._full(key))
        except (BotoCoreError, ClientError) as err:
            raise self._error("deleting", key, err) from err

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.describe()!r})"
