"""A small Label Studio REST client: the calls maskops makes, each failure as one named error.

Two kinds of API key work (``token_kind`` tells them apart):

- a **personal access token** (Label Studio 1.17+, the default): a JWT refresh token. It is
  exchanged at ``/api/token/refresh/`` for a short-lived access token, sent as
  ``Authorization: Bearer``; when that expires (about 5 minutes) the client exchanges again.
- a **legacy token** (``Authorization: Token``): off by default in new organizations; an admin
  enables it under Organization > Settings > Access Token Settings, or the server is started with
  ``--enable-legacy-api-token`` (``LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true``).

The label-studio-sdk does the same exchange; this client talks HTTP itself (httpx, which the SDK
brings) so that every failure can say which URL, which token kind and what to do.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx

from maskops_assets.labelstudio.errors import (
    LabelStudioAuthError,
    LabelStudioError,
    LabelStudioHTTPError,
    LabelStudioProjectMissing,
    LabelStudioUnreachable,
)

log = logging.getLogger(__name__)

PERSONAL_ACCESS_TOKEN = "personal access token"
LEGACY_TOKEN = "legacy token"
#: Tasks per page when listing a project.
PAGE_SIZE = 100
#: How long an asynchronous import (Label Studio Enterprise) may take before we give up.
IMPORT_DEADLINE_S = 600.0

_FIX_UNREACHABLE = (
    "Start it with `make labelstudio`, or set LABEL_STUDIO_URL to your team's server "
    "(unset LABEL_STUDIO_URL to switch Label Studio off)"
)


def token_kind(api_key: str) -> str:
    """``PERSONAL_ACCESS_TOKEN`` for a JWT (three base64url parts, a JSON header), else ``LEGACY_TOKEN``."""
    parts = api_key.split(".")
    if len(parts) != 3:
        return LEGACY_TOKEN
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        return LEGACY_TOKEN
    return PERSONAL_ACCESS_TOKEN if isinstance(header, dict) and "alg" in header else LEGACY_TOKEN


def _auth_fix(kind: str) -> str:
    if kind == PERSONAL_ACCESS_TOKEN:
        return (
            "Set LABEL_STUDIO_API_KEY to a valid personal access token (Account & Settings > Personal "
            "Access Token in Label Studio; a revoked or expired one must be created again)"
        )
    return (
        "Set LABEL_STUDIO_API_KEY to a valid legacy token (Account & Settings > Legacy Token). Legacy "
        "tokens only work when the organization enables them (Organization > Settings > Access Token "
        "Settings, or start Label Studio with --enable-legacy-api-token); or use a personal access token"
    )


class LabelStudioClient:
    """The Label Studio at ``url``, authenticated with ``api_key`` (either token kind)."""

    def __init__(self, url: str, api_key: str, *, timeout_s: float = 30.0) -> None:
        if not url:
            raise ValueError("LabelStudioClient needs a URL (LABEL_STUDIO_URL)")
        if not api_key:
            raise LabelStudioAuthError(
                url, "no API key", "no API key given", "Set LABEL_STUDIO_API_KEY (a personal access token)"
            )
        self.url = url.rstrip("/")
        self.token_kind = token_kind(api_key)
        self._api_key = api_key
        self._access: str | None = None
        self._http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(timeout_s, connect=5.0))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport --------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as err:
            raise LabelStudioUnreachable(
                self.url, f"no answer ({type(err).__name__}: {err})", _FIX_UNREACHABLE
            ) from None

    def _refresh_access(self) -> str:
        response = self._send("POST", "/api/token/refresh/", json={"refresh": self._api_key})
        if response.status_code in (400, 401, 403):
            raise LabelStudioAuthError(
                self.url,
                PERSONAL_ACCESS_TOKEN,
                f"the personal access token was refused ({response.status_code}: {_body(response)})",
                _auth_fix(PERSONAL_ACCESS_TOKEN),
            )
        self._raise_for_status(response, "POST", "/api/token/refresh/")
        self._access = str(response.json()["access"])
        return self._access

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header for the next request (exchanging a personal token if needed)."""
        if self.token_kind == LEGACY_TOKEN:
            return {"Authorization": f"Token {self._api_key}"}
        return {"Authorization": f"Bearer {self._access or self._refresh_access()}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; a refused token, an unreachable server or an error status raises."""
        response = self._send(method, path, headers=self.auth_headers(), **kwargs)
        if response.status_code == 401 and self.token_kind == PERSONAL_ACCESS_TOKEN:
            self._access = None  # the access token expired: exchange the personal token again
            response = self._send(method, path, headers=self.auth_headers(), **kwargs)
        if response.status_code == 401:
            raise LabelStudioAuthError(
                self.url,
                self.token_kind,
                f"the {self.token_kind} was refused ({_body(response)})",
                _auth_fix(self.token_kind),
            )
        self._raise_for_status(response, method, path)
        return response

    def _raise_for_status(self, response: httpx.Response, method: str, path: str) -> None:
        if response.status_code < 400:
            return
        raise LabelStudioHTTPError(
            self.url,
            response.status_code,
            f"{method} {path} answered {response.status_code}: {_body(response)}",
            "Check the server's log; the request is safe to retry (maskops pushes and pulls idempotently)",
        )

    def get_json(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    # --- what maskops does ------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """The user the token belongs to (checks the URL and the token in one call)."""
        return self.get_json("/api/current-user/whoami")

    def find_project(self, title: str) -> dict[str, Any] | None:
        """The project titled exactly ``title`` (the oldest, if several), or None."""
        page = 1
        while True:
            data = self.get_json("/api/projects", title=title, page=page, page_size=100)
            for project in sorted(data.get("results", []), key=lambda p: p["id"]):
                if project.get("title") == title:
                    return project
            if not data.get("next"):
                return None
            page += 1

    def get_project(self, project_id: int) -> dict[str, Any]:
        try:
            return self.get_json(f"/api/projects/{project_id}")
        except LabelStudioHTTPError as err:
            if err.status_code == 404:
                raise LabelStudioProjectMissing(
                    self.url,
                    f"project {project_id} does not exist (deleted?)",
                    "Materialize labeling_tasks to create the project again and re-import the samples; "
                    "labels already pulled stay in the object store",
                ) from None
            raise

    def create_project(self, title: str, label_config: str, description: str = "") -> dict[str, Any]:
        body = {"title": title, "label_config": label_config, "description": description}
        return self.request("POST", "/api/projects", json=body).json()

    def update_project(self, project_id: int, **fields: Any) -> dict[str, Any]:
        return self.request("PATCH", f"/api/projects/{project_id}", json=fields).json()

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> int:
        """Create ``tasks`` (with their predictions) in the project; returns how many were created."""
        if not tasks:
            return 0
        response = self.request("POST", f"/api/projects/{project_id}/import", json=tasks).json()
        if "import" in response and "task_count" not in response:  # asynchronous import (Enterprise)
            response = self._wait_for_import(project_id, int(response["import"]))
        return int(response.get("task_count", len(tasks)))

    def _wait_for_import(self, project_id: int, import_id: int) -> dict[str, Any]:
        deadline = time.monotonic() + IMPORT_DEADLINE_S
        while time.monotonic() < deadline:
            status = self.get_json(f"/api/projects/{project_id}/imports/{import_id}")
            if status.get("status") == "completed":
                return status
            if status.get("status") == "failed":
                raise LabelStudioError(self.url, f"import {import_id} failed: {status.get('error')}", "Retry")
            time.sleep(1.0)
        raise LabelStudioError(
            self.url, f"import {import_id} did not finish in {IMPORT_DEADLINE_S:.0f} s", "Retry"
        )

    def iter_tasks(self, project_id: int) -> Iterator[dict[str, Any]]:
        """Every task of the project with its annotations and predictions, page by page."""
        self.get_project(project_id)  # a deleted project is a named error, not an empty list
        page, seen = 1, 0
        while True:
            data = self.get_json(
                "/api/tasks", project=project_id, page=page, page_size=PAGE_SIZE, fields="all"
            )
            tasks = data.get("tasks", []) if isinstance(data, dict) else data
            yield from tasks
            seen += len(tasks)
            total = data.get("total", seen) if isinstance(data, dict) else seen
            if not tasks or seen >= total:
                return
            page += 1

    def create_annotation(
        self,
        task_id: int,
        result: list[dict[str, Any]],
        *,
        was_cancelled: bool = False,
        lead_time: float | None = None,
    ) -> dict[str, Any]:
        """Submit an annotation (``was_cancelled``: the reviewer skipped the task)."""
        body: dict[str, Any] = {"result": result, "was_cancelled": was_cancelled}
        if lead_time is not None:
            body["lead_time"] = lead_time
        return self.request("POST", f"/api/tasks/{task_id}/annotations/", json=body).json()

    def update_annotation(self, annotation_id: int, result: list[dict[str, Any]]) -> dict[str, Any]:
        return self.request("PATCH", f"/api/annotations/{annotation_id}/", json={"result": result}).json()

    def local_storages(self, project_id: int) -> list[dict[str, Any]]:
        return self.get_json("/api/storages/localfiles", project=project_id)

    def add_local_storage(self, project_id: int, path: str, title: str) -> dict[str, Any]:
        """Register ``path`` (under the server's LOCAL_FILES_DOCUMENT_ROOT) so its files may be served.

        Nothing is synced: maskops creates the tasks itself; the storage only grants the project
        read access to the files its tasks refer to.
        """
        body = {"project": project_id, "path": path, "title": title, "use_blob_urls": True}
        response = self._send("POST", "/api/storages/localfiles", headers=self.auth_headers(), json=body)
        if response.status_code == 400:
            raise LabelStudioError(
                self.url,
                f"the server refused local storage {path} ({_body(response)})",
                "Start Label Studio with LOCAL_FILES_SERVING_ENABLED=true and LOCAL_FILES_DOCUMENT_ROOT set "
                "to a folder above the store (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT tells maskops the same "
                "folder), or use an S3 store",
            )
        self._raise_for_status(response, "POST", "/api/storages/localfiles")
        return response.json()


def _body(response: httpx.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")
