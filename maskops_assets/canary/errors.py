"""Frame errors of the canary and control cameras, from the agents' status objects.

Telemetry rows describe frames that were analysed, so a frame that failed leaves no row. The agent
status (``agents/<agent_id>/status.json``) counts each camera's ``frame_errors`` and
``frames_analysed`` since the agent started; the canary watch sums them per group, taking a camera
as canary when it runs the canary model and as control when it runs the champion. No status
objects (an older agent, or none yet): the error rate is "not recorded" and judges nothing.
An unreadable status object is skipped, never fatal.
"""

from __future__ import annotations

from maskops_assets.canary.statistics import ErrorCounts
from maskops_contracts import ReleaseManifest
from maskops_contracts.errors import ContractError
from maskops_contracts.status import AgentStatus
from maskops_store import ObjectStore, StoreError

AGENTS_PREFIX = "agents/"
STATUS_FILE = "status.json"


def status_keys(store: ObjectStore, page_size: int = 1000) -> list[str]:
    keys: list[str] = []
    after: str | None = None
    while page := store.list_keys(AGENTS_PREFIX, start_after=after, limit=page_size):
        keys.extend(k for k in page if k.endswith(f"/{STATUS_FILE}"))
        after = page[-1]
    return keys


def error_counts(store: ObjectStore, manifest: ReleaseManifest) -> ErrorCounts:
    """Summed frame errors and analysed frames of the canary and the control cameras."""
    canary = manifest.canary
    sums = {"canary": [0, 0], "control": [0, 0]}
    agents = 0
    for key in status_keys(store):
        try:
            status = AgentStatus.from_json(store.get_bytes(key), source=key)
        except (ContractError, StoreError, OSError, ValueError):
            continue
        agents += 1
        for camera in status.cameras:
            if canary is not None and canary.includes(camera.camera_id):
                group = "canary" if camera.model_version == canary.model_version else None
            else:
                group = "control" if camera.model_version == manifest.champion.model_version else None
            if group is not None:
                sums[group][0] += camera.frame_errors
                sums[group][1] += camera.frames_analysed
    return ErrorCounts(
        canary_errors=sums["canary"][0],
        canary_frames=sums["canary"][1],
        control_errors=sums["control"][0],
        control_frames=sums["control"][1],
        agents=agents,
    )
