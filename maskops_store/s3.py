"""The object store at scale: an S3 (or MinIO, or moto) bucket, optionally under a key prefix.

boto3 is imported when a store is made, never when this module is: the edge agent and the
platform import the package on machines and in processes that may never talk to S3.
"""

from __future__ import annotations

from typing import Any

from maskops_store.errors import ObjectNotFoundError, StoreError
from maskops_store.keys import check_folder_prefix, check_key, check_list_prefix, normalize_prefix

#: The error codes S3-compatible servers answer for "no such object": GetObject says NoSuchKey,
#: HeadObject (no body) only its status, "404"; some servers (and botocore versions) NotFound.
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})

#: S3 lists at most this many keys per request; more takes continuation tokens.
MAX_PAGE = 1000

#: HTTP connections a store's client keeps open, for callers that make requests in parallel.
MAX_POOL_CONNECTIONS = 32


def error_code(err: BaseException) -> str | None:
    """The S3 error code of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def is_missing(err: BaseException) -> bool:
    """Whether ``err`` is S3's way of saying the object is not there."""
    return error_code(err) in MISSING_CODES


def _boto_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


class S3Store:
    """An object store on ``s3://bucket/prefix``; credentials from the arguments or AWS's usual chain.

    ``connect_timeout_s``, ``read_timeout_s`` and ``max_attempts`` (botocore's total attempts per
    request) are botocore's defaults when None. A missing object is ``ObjectNotFoundError`` (codes
    in ``MISSING_CODES``); every other failure is a ``StoreError`` naming the key and the bucket.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        connect_timeout_s: float | None = None,
        read_timeout_s: float | None = None,
        max_attempts: int | None = None,
        client: Any | None = None,
    ) -> None:
        if not bucket:
            raise ValueError(f"{type(self).__name__} needs a bucket name")
        self.bucket = bucket
        self.prefix = normalize_prefix(prefix)
        self.endpoint_url = endpoint_url
        if client is None:
            client = _make_client(
                endpoint_url,
                region,
                access_key_id=access_key_id,
                secret_access_key=secret_access_key,
                connect_timeout_s=connect_timeout_s,
                read_timeout_s=read_timeout_s,
                max_attempts=max_attempts,
            )
        self._client = client

    def describe(self) -> str:
        where = f" via {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _error(self, action: str, key: str, err: Exception) -> StoreError:
        return StoreError(
            f"{action} {key!r} in bucket {self.bucket!r} ({self.describe()}) failed: {err}",
            store=self.describe(),
            key=key,
        )

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        """Sorted keys under ``prefix`` after ``start_after``, at most ``limit``: as many requests as
        that takes (``StartAfter`` on the first, continuation tokens after)."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        check_list_prefix(prefix)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after is not None:
            kwargs["StartAfter"] = self.prefix + start_after
        keys: list[str] = []
        try:
            # S3 lists in UTF-8 byte order, which equals Python's str order for our ASCII keys
            pages = self._client.get_paginator("list_objects_v2").paginate(
                **kwargs, PaginationConfig={"MaxItems": limit, "PageSize": min(limit, MAX_PAGE)}
            )
            for page in pages:
                keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        except _boto_errors() as err:
            raise self._error("listing", prefix, err) from err
        return keys[:limit]

    def list_folders(
        self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000
    ) -> list[str]:
        """The folders directly under ``prefix`` (``Delimiter='/'``: S3's common prefixes), sorted,
        after ``start_after``, at most ``limit``: one request per 1,000 folders."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        check_folder_prefix(prefix)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix, "Delimiter": "/"}
        if start_after is not None:
            # StartAfter compares keys: after "a/b/" S3 would roll "a/b/c" up into "a/b/" again, so
            # start after the last key any folder "a/b/" can hold ("a/b0" sorts above all of them)
            after = start_after[:-1] + "0" if start_after.endswith("/") else start_after
            kwargs["StartAfter"] = self.prefix + after
        folders: list[str] = []
        try:
            while len(folders) < limit:
                page = self._client.list_objects_v2(**kwargs, MaxKeys=min(limit - len(folders), MAX_PAGE))
                folders.extend(
                    p["Prefix"][len(self.prefix) :]
                    for p in page.get("CommonPrefixes", [])
                    if start_after is None or p["Prefix"][len(self.prefix) :] > start_after
                )
                if not page.get("IsTruncated"):
                    break
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
        except _boto_errors() as err:
            raise self._error("listing folders of", prefix, err) from err
        return folders[:limit]

    def get_bytes(self, key: str) -> bytes:
        full = self._full(key)
        try:
            return self._client.get_object(Bucket=self.bucket, Key=full)["Body"].read()
        except _boto_errors() as err:
            if is_missing(err):
                raise ObjectNotFoundError(self.describe(), key) from None
            raise self._error("reading", key, err) from err

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        # a single PUT is atomic in S3: readers see the old object or the new one
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key), "Body": data}
        if content_type:
            kwargs["ContentType"] = content_type
        try:
            self._client.put_object(**kwargs)
        except _boto_errors() as err:
            raise self._error("writing", key, err) from err

    def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=full)
            return True
        except _boto_errors() as err:
            if is_missing(err):
                return False
            raise self._error("checking", key, err) from err

    def delete(self, key: str) -> None:
        full = self._full(key)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=full)
        except _boto_errors() as err:
            raise self._error("deleting", key, err) from err

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()!r})"


def _make_client(
    endpoint_url: str | None,
    region: str,
    *,
    access_key_id: str | None,
    secret_access_key: str | None,
    connect_timeout_s: float | None,
    read_timeout_s: float | None,
    max_attempts: int | None,
) -> Any:
    import boto3
    from botocore.config import Config

    # callers list and read in parallel (the ingest sensor: a listing per camera, 32 at a time);
    # botocore's pool of 10 would drop and reopen connections above that
    options: dict[str, Any] = {"max_pool_connections": MAX_POOL_CONNECTIONS}
    if connect_timeout_s is not None:
        options["connect_timeout"] = connect_timeout_s
    if read_timeout_s is not None:
        options["read_timeout"] = read_timeout_s
    if max_attempts is not None:
        options["retries"] = {"max_attempts": max_attempts, "mode": "standard"}
    session = boto3.session.Session(
        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
    )
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**options))
