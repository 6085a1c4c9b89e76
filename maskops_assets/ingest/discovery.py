"""Find sample records not yet ingested by listing each camera from its recent days onwards.

Keys are ``samples/<camera>/<day>/<sample_id>.jpg|json`` and sample ids are content hashes, so a
new sample can sort anywhere inside its day folder: a "last key seen" cursor would miss it. What
does sort is the day. So a tick

1. lists the camera folders (``Delimiter='/'`` on ``samples/``: one request per 1,000 cameras);
2. lists each camera with ``StartAfter=samples/<camera>/<start day>``, where the start day is its
   last day in the cursor less ``lookback_days`` (or an older folder still waiting): older day
   folders are never listed again, so a tick costs the recent keys, not the whole store. The
   listings run ``workers`` at a time (on S3 each is a round trip of its own);
3. reads the ledger (``ingest/seen/<camera>/<day>.json``) only of folders whose complete-record
   count differs from the cursor's.

A sample uploaded more than ``lookback_days`` after its camera's newest day (an agent retrying one
upload for days) lands in a folder no tick lists; the sweep lists ``sweep_cameras`` cameras a tick
in full, round-robin, so such a straggler is found within ``cameras / sweep_cameras`` ticks.

A record counts once both its ``.json`` and its ``.jpg`` are in the store (an upload may be half
done).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from maskops_assets.ingest.batches import read_ledger
from maskops_assets.ingest.cursor import IngestCursor, days_before, folder_camera_day, is_day
from maskops_assets.store import ObjectStore
from maskops_contracts import ContractError, parse_sample_key
from maskops_contracts.keys import SAMPLES_PREFIX
from maskops_store import list_folder_names

#: ``<camera>/<day>`` -> the ids of the samples complete there (both ``.jpg`` and ``.json`` stored)
FolderSamples = dict[str, set[str]]


@dataclass(frozen=True)
class NewSamples:
    """What one tick found: record keys not yet batched, and the cursor to keep once they are."""

    record_keys: list[str]
    cursor: IngestCursor
    folders_read: int
    keys_listed: int
    cameras: int
    cameras_swept: int


@dataclass(frozen=True)
class _CameraListing:
    folders: FolderSamples
    keys: int


def find_new_samples(
    store: ObjectStore,
    cursor: IngestCursor | Mapping[str, object],
    *,
    page_size: int = 1000,
    max_records: int = 1000,
    lookback_days: int = 1,
    sweep_cameras: int = 2,
    workers: int = 16,
) -> NewSamples:
    """Record keys (``.json``) complete in the store but in no batch yet, at most ``max_records``.

    ``cursor`` is the previous tick's (an ``IngestCursor``, or its mapping form, version 1 or 2);
    the returned one is what to keep after ``record_batched`` has stored these keys in the ledger.
    """
    state = cursor if isinstance(cursor, IngestCursor) else IngestCursor.from_mapping(cursor)
    cameras = list_folder_names(store, SAMPLES_PREFIX, page_size)
    spans = state.camera_days()
    swept = state.next_sweep(cameras, sweep_cameras)
    starts = {
        camera: None
        if camera in swept or camera not in spans
        else min(spans[camera][0], days_before(spans[camera][1], lookback_days))
        for camera in cameras
    }
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        listings = list(pool.map(lambda c: _list_camera(store, c, starts[c], page_size), cameras))
        folders: FolderSamples = {}
        for listing in listings:
            folders.update(listing.folders)
        changed = [f for f in sorted(folders) if state.folders.get(f) != len(folders[f])]

        new_keys: list[str] = []
        next_folders = dict(state.folders)
        folders_read = 0
        step = max(1, workers)
        for at in range(0, len(changed), step):
            chunk = changed[at : at + step]
            if len(new_keys) >= max_records:
                ledgers: list[set[str] | None] = [None] * len(chunk)
            else:
                ledgers = list(pool.map(lambda f: read_ledger(store, f), chunk))
            for folder, batched in zip(chunk, ledgers, strict=True):
                room = max_records - len(new_keys)
                if batched is None or room <= 0:
                    next_folders.setdefault(folder, 0)  # left for the next tick: keeps the listing start
                    continue
                folders_read += 1
                fresh = [k for k in map(_record_key(folder), sorted(folders[folder] - batched)) if k]
                new_keys.extend(fresh[:room])
                next_folders[folder] = len(folders[folder]) - len(fresh) + min(len(fresh), room)

    _forget_settled(next_folders, folders, lookback_days)
    return NewSamples(
        record_keys=new_keys,
        cursor=IngestCursor(folders=next_folders, sweep_after=swept[-1] if swept else state.sweep_after),
        folders_read=folders_read,
        keys_listed=sum(listing.keys for listing in listings),
        cameras=len(cameras),
        cameras_swept=len(swept),
    )


def _list_camera(store: ObjectStore, camera: str, start_day: str | None, page_size: int) -> _CameraListing:
    """The samples of ``camera`` in its day folders from ``start_day`` on (None: all of them)."""
    prefix = f"{SAMPLES_PREFIX}{camera}/"
    # every key of day folder D sorts after "samples/<camera>/D", every key of an earlier day before
    after: str | None = f"{prefix}{start_day}" if start_day else None
    jsons: dict[str, set[str]] = {}
    jpgs: dict[str, set[str]] = {}
    listed = 0
    while page := store.list_keys(prefix, start_after=after, limit=page_size):
        listed += len(page)
        after = page[-1]
        # plain string work per key (a million keys a tick at fleet scale); the full contract check
        # (parse_sample_key) runs on the new records only, in _record_key
        for key in page:
            day, _, name = key[len(prefix) :].partition("/")
            if name.endswith(".json"):
                jsons.setdefault(day, set()).add(name[:-5])
            elif name.endswith(".jpg"):
                jpgs.setdefault(day, set()).add(name[:-4])
        if len(page) < page_size:
            break
    folders = {
        f"{camera}/{day}": ids & jpgs.get(day, set())
        for day, ids in jsons.items()
        if is_day(day)  # not a day folder: a stray upload, never a sample (keys are the contract)
    }
    return _CameraListing(folders=folders, keys=listed)


def _record_key(folder: str):
    """``sample_id -> its record key``, or "" when the key breaks the sample contract (skipped)."""

    def key_of(sample_id: str) -> str:
        key = f"{SAMPLES_PREFIX}{folder}/{sample_id}.json"
        try:
            parse_sample_key(key)
        except ContractError:
            return ""
        return key

    return key_of


def _forget_settled(counts: dict[str, int], complete: FolderSamples, lookback_days: int) -> None:
    """Drop folders older than their camera's lookback window whose records are all batched: the
    next tick starts that camera's listing after them (the sweep still comes back to them)."""
    last_day: dict[str, str] = {}
    for folder in counts:
        camera, day = folder_camera_day(folder)
        last_day[camera] = max(last_day.get(camera, day), day)
    for folder in list(counts):
        camera, day = folder_camera_day(folder)
        settled = folder in complete and counts[folder] == len(complete[folder])
        if settled and day < days_before(last_day[camera], lookback_days):
            del counts[folder]
