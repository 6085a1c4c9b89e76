"""Where samples, telemetry, model files and release manifests live: a directory or an S3 bucket.

The platform's names for the shared store in ``maskops_store`` (the edge agent writes the same
store through ``edge_agent.transport``): one key rule, one atomic writer, one error family and
one key prefix on both sides, so every asset works unchanged on one laptop
(``LocalObjectStore``) and at scale (``S3ObjectStore``).
"""

from maskops_store import LocalStore as LocalObjectStore
from maskops_store import ObjectNotFoundError, ObjectStore, check_key
from maskops_store import S3Store as S3ObjectStore
from maskops_store import StoreError as ObjectStoreError

__all__ = [
    "LocalObjectStore",
    "ObjectNotFoundError",
    "ObjectStore",
    "ObjectStoreError",
    "S3ObjectStore",
    "check_key",
]
