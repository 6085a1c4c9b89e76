"""``maskops_main``: the whole graph after ingest, as one job."""

import dagster as dg

# labels -> dataset -> model -> evaluation -> release. collected_frames is left out because it is
# partitioned per ingest batch (ingest_job runs it, one batch per run, launched by the sensor).
maskops_main = dg.define_asset_job(
    "maskops_main",
    selection=dg.AssetSelection.all() - dg.AssetSelection.keys("collected_frames"),
    description="Import reviewed labels, version the dataset, train, evaluate (gated) and release.",
)
