"""Read every agent's status object from the store, a page of keys at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

from maskops_assets.store import ObjectNotFoundError, ObjectStore
from maskops_contracts import AgentStatus, ContractError, parse_agent_status_key
from maskops_contracts.keys import AGENT_STATUS_NAME, AGENTS_PREFIX


@dataclass
class FleetScan:
    """The statuses that parsed, and a line for each object that did not (key: problem)."""

    statuses: list[AgentStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_agent_statuses(store: ObjectStore, *, page_size: int = 1000) -> FleetScan:
    """Every ``agents/<agent_id>/status.json`` in ``store``, sorted by agent id.

    Keys are listed ``page_size`` at a time (a fleet of thousands of boxes is thousands of keys).
    An unreadable status (bad JSON, a field off contract, an agent id that does not match its key)
    is reported in ``problems`` and skipped: one broken box must not hide the rest of the fleet.
    """
    scan = FleetScan()
    start_after: str | None = None
    while True:
        page = store.list_keys(AGENTS_PREFIX, start_after=start_after, limit=page_size)
        for key in page:
            if key.endswith("/" + AGENT_STATUS_NAME):
                _read_one(store, key, scan)
        if len(page) < page_size:
            break
        start_after = page[-1]
    scan.statuses.sort(key=lambda s: s.agent_id)
    return scan


def _read_one(store: ObjectStore, key: str, scan: FleetScan) -> None:
    try:
        agent_id = parse_agent_status_key(key)
        status = AgentStatus.from_json(store.get_bytes(key), source=key)
    except ObjectNotFoundError:
        return  # removed between listing and reading: the agent is gone
    except ContractError as err:
        scan.problems.append(str(err) if err.source else f"{key}: {err}")
        return
    if status.agent_id != agent_id:
        scan.problems.append(f"{key}: agent_id is {status.agent_id!r}, but the key names {agent_id!r}")
        return
    scan.statuses.append(status)
