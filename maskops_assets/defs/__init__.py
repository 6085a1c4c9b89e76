"""The Dagster layer: one module per domain, each exporting ASSETS, CHECKS, JOBS, SENSORS, SCHEDULES.

Modules here stay thin: they declare assets, checks, sensors and jobs and call the plain code in
``maskops_assets`` (store, ingest, labels, versioning, training, evaluation, release).
"""
