"""What can go wrong talking to Label Studio, each as one error that says where and what to do."""

from __future__ import annotations


class LabelStudioError(RuntimeError):
    """Label Studio at ``url`` could not do what maskops asked; the message says what to do."""

    def __init__(self, url: str, problem: str, fix: str) -> None:
        self.url = url
        self.problem = problem
        self.fix = fix
        super().__init__(f"Label Studio at {url}: {problem}. {fix}")


class LabelStudioHTTPError(LabelStudioError):
    """The server answered a request with an error status (``status_code``)."""

    def __init__(self, url: str, status_code: int, problem: str, fix: str) -> None:
        self.status_code = status_code
        super().__init__(url, problem, fix)


class LabelStudioUnreachable(LabelStudioError):
    """Nothing answers at the URL (server down, wrong host or port)."""


class LabelStudioAuthError(LabelStudioError):
    """The server answered but refused the token; ``token_kind`` says which kind was tried."""

    def __init__(self, url: str, token_kind: str, problem: str, fix: str) -> None:
        self.token_kind = token_kind
        super().__init__(url, problem, fix)


class LabelStudioProjectMissing(LabelStudioError):
    """The project maskops pushed tasks to is gone (deleted in the UI)."""
