"""S3 error mapping against moto's real server: every "no such object" code is a missing key,
every other failure one StoreError naming the key and the bucket."""

from __future__ import annotations

import pytest

from maskops_store import MISSING_CODES, ObjectNotFoundError, S3Store, StoreError, is_missing

KEY = "releases/manifest.json"


def test_missing_object_from_moto_is_not_found_or_false(s3_bucket: str, s3_endpoint: str) -> None:
    store = S3Store(s3_bucket, endpoint_url=s3_endpoint)
    with pytest.raises(ObjectNotFoundError, match=r"releases/manifest\.json") as info:
        store.get_bytes(KEY)  # moto answers GetObject with NoSuchKey
    assert isinstance(info.value, KeyError) and info.value.key == KEY
    assert store.exists(KEY) is False  # and HeadObject with a bare 404
    store.delete(KEY)  # deleting a missing key is not an error


def _answer_with_code(store: S3Store, operation: str, code: str) -> None:
    """Rewrite the error code of moto's real error answer to ``operation`` before botocore raises it
    (the ``after-call`` hook sees the parsed answer first), as another S3 server would word it."""

    def rewrite(parsed, **_kwargs) -> None:
        if "Error" in parsed:
            parsed["Error"]["Code"] = code

    store._client.meta.events.register(f"after-call.s3.{operation}", rewrite)


@pytest.mark.parametrize("code", sorted(MISSING_CODES))
def test_each_missing_code_means_missing(s3_bucket: str, s3_endpoint: str, code: str) -> None:
    store = S3Store(s3_bucket, endpoint_url=s3_endpoint)
    _answer_with_code(store, "GetObject", code)
    _answer_with_code(store, "HeadObject", code)
    with pytest.raises(ObjectNotFoundError):
        store.get_bytes(KEY)
    assert store.exists(KEY) is False


@pytest.mark.parametrize("code", ["AccessDenied", "InternalError", "SlowDown"])
def test_other_codes_are_store_errors_naming_key_and_bucket(
    s3_bucket: str, s3_endpoint: str, code: str
) -> None:
    store = S3Store(s3_bucket, endpoint_url=s3_endpoint, max_attempts=1)
    _answer_with_code(store, "GetObject", code)
    _answer_with_code(store, "HeadObject", code)
    for call in (lambda: store.get_bytes(KEY), lambda: store.exists(KEY)):
        with pytest.raises(StoreError) as info:
            call()
        assert not isinstance(info.value, ObjectNotFoundError)
        assert KEY in str(info.value) and repr(s3_bucket) in str(info.value)


def test_missing_bucket_is_a_store_error_not_a_missing_key(s3_bucket: str, s3_endpoint: str) -> None:
    store = S3Store("no-such-bucket", endpoint_url=s3_endpoint)  # moto: NoSuchBucket
    for call in (
        lambda: store.get_bytes(KEY),
        lambda: store.put_bytes(KEY, b"{}"),
        lambda: store.list_keys("releases/"),
    ):
        with pytest.raises(StoreError, match="no-such-bucket") as info:
            call()
        assert not isinstance(info.value, ObjectNotFoundError)


def test_unreachable_endpoint_is_a_store_error_naming_key_and_bucket(
    unused_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = S3Store("bucket", endpoint_url=unused_endpoint, connect_timeout_s=1, max_attempts=1)
    with pytest.raises(StoreError, match=r"'samples/x\.jpg' in bucket 'bucket'"):
        store.put_bytes("samples/x.jpg", b"x")
    with pytest.raises(StoreError, match="bucket"):
        store.exists(KEY)


def test_is_missing_reads_the_client_error_code() -> None:
    from botocore.exceptions import ClientError

    for code in ("NoSuchKey", "404", "NotFound"):
        assert is_missing(ClientError({"Error": {"Code": code}}, "GetObject"))
    assert not is_missing(ClientError({"Error": {"Code": "NoSuchBucket"}}, "GetObject"))
    assert not is_missing(ValueError("x"))
