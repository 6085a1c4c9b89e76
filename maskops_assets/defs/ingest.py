"""Ingest: a sensor turns newly uploaded sample records into partitions of ``collected_frames``."""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.
import dagster as dg

from maskops_assets.constants import OWNER
from maskops_assets.ingest import (
    CollectedBatch,
    IngestCursor,
    batch_listing_key,
    collect_batch,
    find_new_samples,
    make_batch,
    record_batched,
    write_batch,
)
from maskops_assets.resources import ObjectStoreResource

ingest_batches = dg.DynamicPartitionsDefinition(name="ingest_batches")


@dg.asset(
    partitions_def=ingest_batches,
    group_name="data",
    kinds={"python", "s3"},
    owners=[OWNER],
    description=(
        "The sample records (and their images) of one ingest batch, validated against the sample "
        "contract. One partition per batch the new_samples_sensor found in the object store."
    ),
)
def collected_frames(context: dg.AssetExecutionContext, object_store: ObjectStoreResource) -> dg.Output:
    store = object_store.open()
    batch_id = context.partition_key
    context.log.info(f"reading ingest batch {batch_id} from {store.describe()}")
    batch: CollectedBatch = collect_batch(store, batch_id)
    if batch.invalid:
        context.log.warning(
            f"{len(batch.invalid)} of {len(batch.invalid) + len(batch.records)} records in batch {batch_id} "
            f"break the sample contract and were left out, e.g. {batch.invalid[0]}"
        )
    if not batch.records:
        raise dg.Failure(
            description=(
                f"ingest batch {batch_id} ({batch.listing_key} in {store.describe()}) has no valid sample "
                "record; check the cameras' uploads and the warnings above"
            )
        )
    captured = sorted(r.captured_at for r in batch.records)
    context.log.info(f"batch {batch_id}: {len(batch.records)} samples from {len(batch.by_camera)} camera(s)")
    return dg.Output(
        batch,
        metadata={
            "batch_id": batch_id,
            "listing_key": batch.listing_key,
            "store": store.describe(),
            "samples": len(batch.records),
            "invalid_records": len(batch.invalid),
            "cameras": dg.MetadataValue.json(batch.by_camera),
            "sampling_reasons": dg.MetadataValue.md(_counts_table("rule", batch.by_reason)),
            "captured_from": captured[0].isoformat(),
            "captured_to": captured[-1].isoformat(),
        },
    )


def _counts_table(label: str, counts: dict[str, int]) -> str:
    rows = "\n".join(f"| {name} | {n} |" for name, n in sorted(counts.items()))
    return f"| {label} | samples |\n|---|---|\n{rows}\n"


ingest_job = dg.define_asset_job(
    "ingest_job",
    # partitioned by ingest_batches, as collected_frames is (Dagster infers it from the selection)
    selection=dg.AssetSelection.assets(collected_frames),
    description="Collect one ingest batch of sample records (launched by new_samples_sensor).",
)


# Keys per listing call, and records per batch (a bigger backlog becomes several batches, one per tick).
PAGE_SIZE = 1000
MAX_RECORDS_PER_BATCH = 1000
# Each camera is listed from its newest day in the cursor less this many days (late uploads)...
LOOKBACK_DAYS = 1
# ...and this many cameras a tick are listed in full, round-robin (uploads later than that).
SWEEP_CAMERAS = 2
# Camera listings (and ledger reads) in flight at once: on S3 each is a round trip.
LIST_WORKERS = 32


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Lists new sample records in the object store: the camera folders, then each camera from its "
        "recent days on (StartAfter, paged; a cursor of records seen per camera and day), writes "
        "each batch's listing to ingest/batches/<batch_id>.json and adds it "
        "as a partition of collected_frames."
    ),
)
def new_samples_sensor(
    context: dg.SensorEvaluationContext, object_store: ObjectStoreResource
) -> dg.SensorResult:
    store = object_store.open()
    cursor, migrated = IngestCursor.parse(context.cursor)
    if migrated:
        context.log.info(
            f"ingest cursor: read a version-1 cursor ({len(cursor.folders)} folders) and will store it "
            "as version 2 (recent folders per camera and the straggler sweep's position)"
        )
    found = find_new_samples(
        store,
        cursor,
        page_size=PAGE_SIZE,
        max_records=MAX_RECORDS_PER_BATCH,
        lookback_days=LOOKBACK_DAYS,
        sweep_cameras=SWEEP_CAMERAS,
        workers=LIST_WORKERS,
    )
    context.log.info(
        f"listed {found.keys_listed} sample keys of {found.cameras} camera(s) in {store.describe()} "
        f"({found.cameras_swept} swept in full); {found.folders_read} folder(s) changed; "
        f"{len(found.record_keys)} new record(s)"
    )
    if not found.record_keys:
        return dg.SensorResult(skip_reason="no new sample records", cursor=found.cursor.to_json())
    batch = make_batch(found.record_keys)
    listing = write_batch(store, batch)
    record_batched(store, batch)
    context.log.info(f"batch {batch.batch_id}: {len(batch.record_keys)} records, listing {listing}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=batch.batch_id, run_key=batch_listing_key(batch.batch_id))],
        dynamic_partitions_requests=[ingest_batches.build_add_request([batch.batch_id])],
        cursor=found.cursor.to_json(),
    )
