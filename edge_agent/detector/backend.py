"""The backend protocol, kept importable from here for old imports; it lives in
``edge_agent.detector.types``."""

from __future__ import annotations

from edge_agent.detector.types import FinishedForward, InferenceBackend, PendingForward, split_threads

__all__ = ["FinishedForward", "InferenceBackend", "PendingForward", "split_threads"]
