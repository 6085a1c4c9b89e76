"""How many CPU threads maskops gives a runtime (OpenVINO, ONNX Runtime, torch) by default.

Every core, unless ``MASKOPS_THREADS`` says otherwise: one setting for a box that shares its cores
with other work, read the same way by the edge agent and the platform. An explicit thread count in
a config (``detector.threads``, ``TrainConfig.threads``) always wins over it.
"""

from __future__ import annotations

import os

from maskops_contracts.errors import ContractError

THREADS_ENV = "MASKOPS_THREADS"


def default_threads() -> int:
    """``MASKOPS_THREADS`` when set (a whole number >= 1), else the machine's core count."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return max(1, os.cpu_count() or 1)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ContractError(THREADS_ENV, f"must be a whole number of threads >= 1, got {raw!r}")
    return value
