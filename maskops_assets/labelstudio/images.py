"""How a task points at its frame, so that Label Studio shows it, for each kind of store.

- A local store: Label Studio's local file serving. The server runs with
  ``LOCAL_FILES_SERVING_ENABLED=true`` and ``LOCAL_FILES_DOCUMENT_ROOT`` set to a folder above the
  store; a task refers to ``/data/local-files/?d=<path below that root>``, and the project has a
  local storage on the samples folder (Label Studio serves a file only to projects with one).
- An S3 store: a presigned GET URL made with the store's own client and credentials, so the
  reviewer's browser fetches the frame from the bucket. It expires after ``expires_s`` (at most
  7 days with SigV4); ``labeling_tasks`` renews the URLs of tasks nobody has reviewed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from maskops_assets.datasets.labelstudio import LOCAL_FILES_PREFIX
from maskops_assets.store import LocalObjectStore, ObjectStore, S3ObjectStore
from maskops_contracts.keys import SAMPLES_PREFIX

#: SigV4's longest presigned URL lifetime.
MAX_PRESIGN_S = 7 * 24 * 3600


def presigned_url(store: S3ObjectStore, key: str, expires_s: int = MAX_PRESIGN_S) -> str:
    """A URL anyone may GET ``key`` from for ``expires_s`` seconds (signed with the store's credentials)."""
    if not 1 <= expires_s <= MAX_PRESIGN_S:
        raise ValueError(f"presigned URLs live 1..{MAX_PRESIGN_S} s, got {expires_s}")
    return store._client.generate_presigned_url(
        "get_object", Params={"Bucket": store.bucket, "Key": store.prefix + key}, ExpiresIn=expires_s
    )


@dataclass(frozen=True)
class ImageLinker:
    """Makes the ``data.image`` of a task from a sample's image key in ``store``.

    ``document_root``: the Label Studio server's ``LOCAL_FILES_DOCUMENT_ROOT`` (local stores only;
    default: the store's root directory).
    """

    store: ObjectStore
    document_root: Path | None = None
    presign_expires_s: int = MAX_PRESIGN_S

    @property
    def is_local(self) -> bool:
        return isinstance(self.store, LocalObjectStore)

    def _root(self) -> Path:
        assert isinstance(self.store, LocalObjectStore)
        return (self.document_root or self.store.root).resolve()

    def local_storage_path(self) -> str | None:
        """The folder to register as the project's local storage (None for S3)."""
        if not self.is_local:
            return None
        folder = self.store.base / SAMPLES_PREFIX.rstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    def reference(self, key: str) -> str:
        if isinstance(self.store, S3ObjectStore):
            return presigned_url(self.store, key, self.presign_expires_s)
        if isinstance(self.store, LocalObjectStore):
            path = (self.store.base / key).resolve()
            root = self._root()
            if root not in path.parents:
                raise ValueError(
                    f"{path} is not below Label Studio's document root {root}: set "
                    "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (and the server's LOCAL_FILES_DOCUMENT_ROOT) "
                    "to a folder above the store"
                )
            return LOCAL_FILES_PREFIX + quote(path.relative_to(root).as_posix())
        raise TypeError(f"no way to show images from {type(self.store).__name__} in Label Studio")
