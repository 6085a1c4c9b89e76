"""The ingest sensor finds every new sample exactly once, pages, and collected_frames validates them."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from maskops_assets.defs.ingest import collected_frames, ingest_batches, new_samples_sensor
from maskops_assets.ingest import (
    IngestCursor,
    collect_batch,
    find_new_samples,
    make_batch,
    read_batch,
    record_batched,
    write_batch,
)
from maskops_assets.resources import ObjectStoreResource
from maskops_assets.store import LocalObjectStore
from maskops_contracts import sample_key


def _tick(instance: dg.DagsterInstance, store_root: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"object_store": ObjectStoreResource(root=str(store_root))},
    )
    return new_samples_sensor(context)


def test_sensor_batches_new_samples_once(seeded_store, dagster_instance: dg.DagsterInstance) -> None:
    store, samples = seeded_store
    first = _tick(dagster_instance, store.root, None)
    assert len(first.run_requests) == 1
    batch_id = first.run_requests[0].partition_key
    assert first.dynamic_partitions_requests[0].partition_keys == [batch_id]
    listing = read_batch(store, batch_id)
    assert len(listing.record_keys) == len(samples)
    assert store.exists(f"ingest/batches/{batch_id}.json")

    # nothing new: a skip, and the same cursor
    second = _tick(dagster_instance, store.root, first.cursor)
    assert not second.run_requests and second.skip_reason

    # A new sample whose hash sorts *before* everything seen is still found (no last-key cursor).
    record = samples[0].record
    early_id = "000000000000000000000000"
    day = record.captured_at
    store.put_bytes(sample_key(record.camera_id, day, early_id, "jpg"), samples[0].image_path.read_bytes())
    data = json.loads(record.to_json())
    data["sample_id"] = early_id
    store.put_bytes(sample_key(record.camera_id, day, early_id, "json"), json.dumps(data).encode())
    third = _tick(dagster_instance, store.root, second.cursor)
    new_listing = read_batch(store, third.run_requests[0].partition_key)
    assert [k.rsplit("/", 1)[1] for k in new_listing.record_keys] == [f"{early_id}.json"]


def test_half_uploaded_samples_wait_and_paging_covers_everything(tmp_path: Path, seeded_store) -> None:
    store, samples = seeded_store
    record = samples[0].record
    store.put_bytes(
        sample_key(record.camera_id, record.captured_at, "aaaa00000000", "json"), b"{}"
    )  # no jpg yet
    found = find_new_samples(store, {}, page_size=3, max_records=5)
    assert len(found.record_keys) == 5  # capped; the rest wait for the next tick
    batch = make_batch(found.record_keys)
    write_batch(store, batch)
    record_batched(store, batch)
    rest = find_new_samples(store, found.cursor, page_size=3)
    assert len(rest.record_keys) == len(samples) - 5
    assert not set(rest.record_keys) & set(found.record_keys)
    assert all("aaaa00000000" not in k for k in found.record_keys + rest.record_keys)


def test_batch_id_is_content_derived() -> None:
    keys = ["samples/cam1/2026-11-23/b.json", "samples/cam1/2026-11-22/a.json"]
    assert make_batch(keys).batch_id == make_batch(list(reversed(keys))).batch_id
    assert make_batch(keys).batch_id.startswith("2026-11-22-")
    with pytest.raises(ValueError, match="at least one"):
        make_batch([])


def test_collected_frames_counts_and_names_invalid_records(seeded_store, dagster_instance) -> None:
    store, samples = seeded_store
    bad_key = sample_key("cam-demo", "2026-11-23", "badbadbad", "json")
    store.put_bytes(bad_key, b'{"schema_version": 1, "camera_id": "cam-demo"}')
    batch = make_batch([*(f"{k[:-4]}.json" for k in _jpg_keys(store)), bad_key])
    write_batch(store, batch)

    collected = collect_batch(store, batch.batch_id)
    assert len(collected.records) == len(samples)
    assert len(collected.invalid) == 1 and bad_key in collected.invalid[0]

    dagster_instance.add_dynamic_partitions(ingest_batches.name, [batch.batch_id])
    result = dg.materialize(
        [collected_frames],
        partition_key=batch.batch_id,
        instance=dagster_instance,
        resources={"object_store": ObjectStoreResource(root=str(store.root))},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("collected_frames")[0].metadata
    assert metadata["samples"].value == len(samples)
    assert metadata["invalid_records"].value == 1


def test_batch_with_no_valid_record_fails_naming_the_listing(tmp_path: Path, dagster_instance) -> None:
    store = LocalObjectStore(tmp_path / "store")
    key = sample_key("cam1", "2026-11-23", "abc", "json")
    store.put_bytes(key, b"not json")
    batch = make_batch([key])
    write_batch(store, batch)
    dagster_instance.add_dynamic_partitions(ingest_batches.name, [batch.batch_id])
    result = dg.materialize(
        [collected_frames],
        partition_key=batch.batch_id,
        instance=dagster_instance,
        resources={"object_store": ObjectStoreResource(root=str(store.root))},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error
    assert f"ingest/batches/{batch.batch_id}.json" in str(failure.message) + str(failure.cause)


def _jpg_keys(store: LocalObjectStore) -> list[str]:
    return [k for k in store.list_keys("samples/") if k.endswith(".jpg")]


class _ListingLog:
    """A store wrapper that records each ``list_keys`` call's prefix and start_after."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str | None]] = []

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        self.calls.append((prefix, start_after))
        return self.inner.list_keys(prefix, start_after=start_after, limit=limit)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def _put_sample(store, camera: str, day: str, sample_id: str) -> str:
    for ext in ("jpg", "json"):
        store.put_bytes(sample_key(camera, day, sample_id, ext), b"x")
    return sample_key(camera, day, sample_id, "json")


def _batch(store, record_keys: list[str]) -> None:
    batch = make_batch(record_keys)
    write_batch(store, batch)
    record_batched(store, batch)


@pytest.fixture(params=["local", "s3"])
def bare_store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    from maskops_assets.store import S3ObjectStore

    return S3ObjectStore(request.getfixturevalue("s3_bucket"), "", request.getfixturevalue("s3_endpoint"))


def test_a_tick_lists_each_camera_from_its_recent_days_only(bare_store) -> None:
    days = ["2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
    old = [
        _put_sample(bare_store, cam, day, f"{cam}-{day}-{i}")
        for cam in ("cam-a", "cam-b")
        for day in days
        for i in range(3)
    ]
    first = find_new_samples(bare_store, {}, sweep_cameras=0)
    assert sorted(first.record_keys) == sorted(old) and first.cameras == 2
    _batch(bare_store, first.record_keys)
    # only the last day and the lookback day stay in the cursor
    assert sorted(first.cursor.folders) == [f"{c}/{d}" for c in ("cam-a", "cam-b") for d in days[-2:]]

    new = _put_sample(bare_store, "cam-b", "2026-11-30", "0000-new")  # sorts before every id there
    logged = _ListingLog(bare_store)
    second = find_new_samples(logged, first.cursor, sweep_cameras=0, lookback_days=1)
    assert second.record_keys == [new]
    assert sorted(logged.calls) == [
        ("samples/cam-a/", "samples/cam-a/2026-11-29"),
        ("samples/cam-b/", "samples/cam-b/2026-11-29"),
    ]
    assert second.keys_listed == 2 * 2 * 3 * 2 + 2  # two cameras, two days, 3 samples of 2 keys, + new
    assert second.folders_read == 1  # only cam-b/2026-11-30 changed: one ledger read


def test_a_new_day_folder_and_a_new_camera_are_found(bare_store) -> None:
    first = find_new_samples(bare_store, {"cam-a/2026-11-29": 0}, sweep_cameras=0)
    assert first.record_keys == []
    keys = [
        _put_sample(bare_store, "cam-a", "2026-11-30", "a1"),
        _put_sample(bare_store, "cam-a", "2026-12-01", "a2"),
        _put_sample(bare_store, "cam-z", "2026-11-01", "z1"),
    ]
    found = find_new_samples(bare_store, first.cursor, sweep_cameras=0)
    assert sorted(found.record_keys) == sorted(keys)


def test_a_folder_named_like_an_impossible_day_is_skipped_not_fatal(bare_store) -> None:
    """Day folders are real ISO dates: a stray ``2026-13-45`` (the shape of a date, not one) is not a
    day folder, so it is skipped like any stray upload and the tick goes on."""
    for ext in ("json", "jpg"):
        bare_store.put_bytes(f"samples/cam-a/2026-13-45/stray.{ext}", b"x")
    good = _put_sample(bare_store, "cam-a", "2026-11-30", "a1")
    found = find_new_samples(bare_store, {}, sweep_cameras=0)
    assert found.record_keys == [good]
    assert sorted(found.cursor.folders) == ["cam-a/2026-11-30"]


def test_a_straggler_older_than_the_lookback_is_found_by_the_sweep(bare_store) -> None:
    cameras = ["cam-a", "cam-b", "cam-c"]
    _batch(
        bare_store,
        [_put_sample(bare_store, c, d, f"{c}{d}") for c in cameras for d in ("2026-11-20", "2026-11-30")],
    )
    cursor = find_new_samples(bare_store, {}, sweep_cameras=1).cursor
    late = _put_sample(bare_store, "cam-b", "2026-11-20", "late")  # ten days behind cam-b's newest day
    found_by = []
    for tick in range(len(cameras)):
        found = find_new_samples(bare_store, cursor, sweep_cameras=1)
        assert found.cameras_swept == 1
        if found.record_keys:
            assert found.record_keys == [late]
            _batch(bare_store, found.record_keys)
            found_by.append(tick)
        cursor = found.cursor
    assert len(found_by) == 1  # within cameras / sweep_cameras ticks, and once


def test_the_sensor_migrates_a_version_1_cursor_without_re_batching(
    seeded_store, dagster_instance: dg.DagsterInstance
) -> None:
    store, _ = seeded_store
    first = _tick(dagster_instance, store.root, None)
    assert len(first.run_requests) == 1
    v1 = json.dumps(json.loads(first.cursor)["folders"])  # what the sensor stored before version 2
    again = _tick(dagster_instance, store.root, v1)
    assert not again.run_requests and again.skip_reason
    assert json.loads(again.cursor)["version"] == 2


@pytest.mark.parametrize(
    ("cursor", "named"),
    [("[1]", "JSON object"), ('{"cam/2026-13-40": 1}', "cam/2026-13-40"), ('{"version": 9}', "version 9")],
)
def test_a_broken_cursor_is_named(cursor: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        IngestCursor.parse(cursor)
