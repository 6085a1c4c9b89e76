"""The error every release operation raises when it cannot go ahead."""

from __future__ import annotations


class ReleaseError(RuntimeError):
    """A release operation cannot go ahead; the message says what is missing and what to do."""
