"""``make demo``: the closed loop on one machine (docs/demo.md).

The real processes (Dagster's daemon and webserver with the code location, Label Studio, the edge
agent) run the story; sensors do the work. ``settings`` holds every knob in one typed place,
``loop`` runs the stages, ``processes`` starts and stops the process groups, ``annotator`` is the
simulated reviewer, ``camera`` the generated domain-B clips and the agent's config, ``watch`` reads
the Dagster instance and the agent, ``report`` draws v1 against v2.
"""

from maskops_assets.demo.inprocess import (
    CONSOLE_AT_INFO,
    InProcessSettings,
    ingest,
    main_run_config,
    not_retrained,
)
from maskops_assets.demo.settings import DemoSettings as ClosedLoopSettings

# Kept for tests/platform/test_graph_end_to_end.py and test_training_asset.py, which check the graph
# in-process and import these names from here; new code imports ``maskops_assets.demo.inprocess``
# and ``maskops_assets.demo.settings.DemoSettings`` (the closed loop's settings).
DemoSettings = InProcessSettings

__all__ = [
    "CONSOLE_AT_INFO",
    "ClosedLoopSettings",
    "DemoSettings",
    "InProcessSettings",
    "ingest",
    "main_run_config",
    "not_retrained",
]
