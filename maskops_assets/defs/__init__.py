"""The Dagster layer, loaded by Dagster's defs-folder loader (``dg.load_from_defs_folder``).

Every module here is imported and its module-level assets, asset checks, jobs, sensors and
schedules are collected (``[tool.dg.project]`` in pyproject.toml names this package as the defs
module); ``resources.py`` contributes the shared resources, once. Adding a module here is all it
takes to put its definitions in the code location; a module that fails to import fails the load.

Modules here stay thin: they declare assets, checks, sensors and jobs and call the plain code in
``maskops_assets`` (store, ingest, labels, versioning, training, evaluation, release). Shared
constants live in ``maskops_assets.constants``; a defs module does not import another one's objects
(each would then be found twice).
"""
