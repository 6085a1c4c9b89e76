"""The edge fleet as the platform sees it: every agent's heartbeat (``agents/<agent_id>/status.json``)
read from the store, one row per agent and camera, compared with the live release manifest.

Plain code, tested without Dagster; ``maskops_assets/defs/fleet.py`` wraps it as the ``edge_fleet``
asset, its checks and its schedule.
"""

from maskops_assets.fleet.plots import plot_last_seen
from maskops_assets.fleet.reader import FleetScan, read_agent_statuses
from maskops_assets.fleet.report import FleetReport, FleetRow, OldRelease, build_fleet_report

__all__ = [
    "FleetReport",
    "FleetRow",
    "FleetScan",
    "OldRelease",
    "build_fleet_report",
    "plot_last_seen",
    "read_agent_statuses",
]
