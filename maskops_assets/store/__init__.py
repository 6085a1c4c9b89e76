"""Where samples, telemetry, model files and release manifests live: a directory or an S3 bucket.

Both backends follow the same ``ObjectStore`` protocol and the key layout of ARCHITECTURE.md,
so every asset works unchanged on one laptop (``LocalObjectStore``) and at scale (``S3ObjectStore``).
"""

from maskops_assets.store.base import ObjectNotFoundError, ObjectStore, ObjectStoreError, check_key
from maskops_assets.store.local import LocalObjectStore
from maskops_assets.store.s3 import S3ObjectStore

__all__ = [
    "LocalObjectStore",
    "ObjectNotFoundError",
    "ObjectStore",
    "ObjectStoreError",
    "S3ObjectStore",
    "check_key",
]
