"""One object store for both halves of maskops: the edge agent writes it, the platform reads it.

Samples, telemetry, model files and release manifests live under the keys of docs/contracts.md in
a directory (``LocalStore``) or an S3 bucket (``S3Store``), optionally under a key ``prefix``.
Both backends share one key rule (``check_key``), one error family (``StoreError``,
``ObjectNotFoundError``, ``UnsafeKeyError``) and one durable atomic writer (``write_atomic``).

Standard library and pydantic only; boto3 is imported when an ``S3Store`` is made.
"""

from maskops_store.atomic import TMP_SUFFIX, fsync_dir, write_atomic
from maskops_store.config import StoreConfig, open_store
from maskops_store.errors import ObjectNotFoundError, StoreError, UnsafeKeyError
from maskops_store.keys import check_key, check_list_prefix, normalize_prefix
from maskops_store.local import LocalStore
from maskops_store.protocol import ObjectStore, list_folder_names
from maskops_store.s3 import MISSING_CODES, S3Store, is_missing

__all__ = [
    "MISSING_CODES",
    "TMP_SUFFIX",
    "LocalStore",
    "ObjectNotFoundError",
    "ObjectStore",
    "S3Store",
    "StoreConfig",
    "StoreError",
    "UnsafeKeyError",
    "check_key",
    "check_list_prefix",
    "fsync_dir",
    "is_missing",
    "list_folder_names",
    "normalize_prefix",
    "open_store",
    "write_atomic",
]
