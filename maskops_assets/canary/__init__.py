"""The canary watch: canary cameras' telemetry against the control cameras', a verdict per release.

``thresholds`` (settings), ``statistics`` (split and tests), ``errors`` (agent status error counts),
``plot`` (the picture), ``watch`` (the sensor's decision and cursor). Plain code: no Dagster here.
"""
