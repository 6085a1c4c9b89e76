"""``maskops_main``: the retraining job (labels -> dataset -> model -> gate -> release).

Every trigger launches it (``defs/triggers.py``), and a person retrains with one click: open the job
in the Dagster UI and "Materialize all" — every asset's config has defaults, so no run config is
needed. Such a run is tagged ``maskops/trigger=manual``; a trigger's run request replaces those
tags with its own (which trigger, and why). Every run of it carries ``maskops/kind=training``, the tag
the production profile's concurrency limit matches.
"""

import dagster as dg

from maskops_assets.constants import RETRAIN_JOB, TRAINING_KIND_TAG, TRIGGER_REASON_TAG, TRIGGER_TAG

# Everything the release depends on, and the release itself. collected_frames is left out because
# it is partitioned per ingest batch (ingest_job runs it, one batch per run, launched by the
# sensor); assets off this chain (monitoring reports, the fleet view) keep their own jobs.
maskops_main = dg.define_asset_job(
    RETRAIN_JOB,
    selection=(
        dg.AssetSelection.keys("deployment_release").upstream() - dg.AssetSelection.keys("collected_frames")
    ),
    description=(
        "Retrain: import reviewed labels, version the dataset, train, evaluate (gated) and release. "
        "Runs with defaults; launched by label_threshold_sensor, drift_sensor, weekly_retrain or by hand."
    ),
    run_tags={
        TRIGGER_TAG: "manual",
        TRIGGER_REASON_TAG: "launched by hand (Dagster UI or CLI)",
        # the production profile (deploy/production/dagster.yaml) runs one training run at a time
        TRAINING_KIND_TAG: "training",
    },
)
