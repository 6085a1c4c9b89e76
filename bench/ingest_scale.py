"""The ingest sensor's tick as the store grows: ``find_new_samples`` (what ``new_samples_sensor``
runs each tick, with the sensor's settings) over 100k and 1M sample keys from 1,000 cameras, when
1,000 samples are new.

The store is an in-memory stand-in with S3's listing semantics (sorted keys, ``StartAfter``,
``Delimiter='/'``, pages of 1,000) that sleeps ``--list-ms`` per LIST request and ``--get-ms`` per
GET (S3's round trips: assumptions, not measurements), so the timed tick includes the sensor's own
work *and* how its concurrent listings overlap those round trips; ``--list-ms 0 --get-ms 0`` times
the work alone. Filling moto with a million objects would take far longer than the tick itself on
this box. LIST requests and GETs are counted.

The old samples span ``--days`` days per camera (1: all in today's folder, the worst case for
listing by day; 30: a month of uploads) and are batched first, so the cursor and per-folder ledgers
are what the sensor leaves; then ``--new`` samples arrive today, spread over the cameras, and one
tick is timed.

    .venv/bin/python bench/ingest_scale.py --sizes 100000 1000000 --cameras 1000 --new 1000 --days 1 30
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import threading
import time
from datetime import date, timedelta

from maskops_assets.defs.ingest import LIST_WORKERS, LOOKBACK_DAYS, PAGE_SIZE, SWEEP_CAMERAS
from maskops_assets.ingest import find_new_samples, make_batch, record_batched
from maskops_assets.store import ObjectNotFoundError

TODAY = date(2026, 11, 30)


class SortedMemoryStore:
    """Keys in a sorted list (S3's listing order), counting LIST and GET requests and sleeping the
    assumed round trip of each (``latency``: seconds per LIST, per GET) while it is set."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.data: dict[str, bytes] = {}
        self.list_calls = 0
        self.get_calls = 0
        self.latency = (0.0, 0.0)
        self._lock = threading.Lock()

    def bulk_load(self, keys: list[str]) -> None:
        self.keys = sorted(set(self.keys) | set(keys))
        for key in keys:
            self.data.setdefault(key, b"")

    def _request(self, kind: int) -> None:
        with self._lock:
            if kind == 0:
                self.list_calls += 1
            else:
                self.get_calls += 1
        if self.latency[kind]:
            time.sleep(self.latency[kind])

    def _from(self, prefix: str, start_after: str | None) -> int:
        lo = bisect.bisect_left(self.keys, prefix)
        return max(lo, bisect.bisect_right(self.keys, start_after)) if start_after else lo

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        self._request(0)
        lo = self._from(prefix, start_after)
        return [key for key in self.keys[lo : lo + limit] if key.startswith(prefix)]

    def list_folders(
        self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000
    ) -> list[str]:
        self._request(0)  # one request per page of 1,000 folders, as S3 (the skips below are its work)
        folders: list[str] = []
        lo = self._from(prefix, start_after)
        while lo < len(self.keys) and self.keys[lo].startswith(prefix) and len(folders) < limit:
            rest = self.keys[lo][len(prefix) :]
            if "/" not in rest:
                lo += 1
                continue
            folder = prefix + rest.split("/", 1)[0] + "/"
            if start_after is None or folder > start_after:
                folders.append(folder)
            lo = bisect.bisect_left(self.keys, folder[:-1] + "0")  # past every key in the folder
        return folders

    def get_bytes(self, key: str) -> bytes:
        self._request(1)
        try:
            return self.data[key]
        except KeyError:
            raise ObjectNotFoundError(self.describe(), key) from None

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        with self._lock:
            if key not in self.data:
                bisect.insort(self.keys, key)
            self.data[key] = data

    def exists(self, key: str) -> bool:
        return key in self.data

    def delete(self, key: str) -> None:
        if self.data.pop(key, None) is not None:
            self.keys.remove(key)

    def describe(self) -> str:
        return "memory (S3 listing semantics)"


def sample_keys(camera: int, day: date, index: int) -> list[str]:
    sample_id = hashlib.sha256(f"{camera}-{day}-{index}".encode()).hexdigest()[:24]
    base = f"samples/cam-{camera:04d}/{day.isoformat()}/{sample_id}"
    return [f"{base}.jpg", f"{base}.json"]


def measure(total_keys: int, cameras: int, days: int, new: int, list_ms: float, get_ms: float) -> dict:
    per_camera = total_keys // (2 * cameras)  # two keys (jpg + json) per sample, spread over the days
    day_list = [TODAY - timedelta(days=d) for d in range(days)]
    store = SortedMemoryStore()
    store.bulk_load(
        [
            k
            for cam in range(cameras)
            for i in range(per_camera)
            for k in sample_keys(cam, day_list[i % days], i)
        ]
    )
    # what the sensor has done before: every old record batched, cursor as it leaves it
    found = find_new_samples(store, {}, max_records=len(store.keys), sweep_cameras=0, workers=1)
    record_batched(store, make_batch(found.record_keys))
    cursor = found.cursor
    # new arrivals today: `new` samples spread over the cameras (their ids sort anywhere)
    store.bulk_load(
        [k for n in range(new) for k in sample_keys(n % cameras, TODAY, per_camera + n // cameras)]
    )
    store.list_calls = store.get_calls = 0
    store.latency = (list_ms / 1000, get_ms / 1000)
    started = time.perf_counter()
    tick = find_new_samples(
        store,
        cursor,
        page_size=PAGE_SIZE,
        max_records=new,
        lookback_days=LOOKBACK_DAYS,
        sweep_cameras=SWEEP_CAMERAS,
        workers=LIST_WORKERS,
    )
    seconds = time.perf_counter() - started
    assert len(tick.record_keys) == new, (len(tick.record_keys), new)
    return {
        "keys": sum(1 for key in store.keys if key.startswith("samples/")),
        "seconds": seconds,
        "list_calls": store.list_calls,
        "get_calls": store.get_calls,
        "listed": tick.keys_listed,
        "cursor_folders": len(tick.cursor.folders),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--days", type=int, nargs="+", default=[1, 30], help="days of uploads per camera")
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--list-ms", type=float, default=30.0, help="assumed S3 LIST round trip, ms")
    parser.add_argument("--get-ms", type=float, default=15.0, help="assumed S3 GET round trip, ms")
    parser.add_argument("--target-s", type=float, default=5.0)
    args = parser.parse_args()
    print(
        f"ingest_scale: sensor settings: {LIST_WORKERS} listings in flight, lookback {LOOKBACK_DAYS} day(s), "
        f"{SWEEP_CAMERAS} camera(s) swept a tick; {args.list_ms:g} ms per LIST, {args.get_ms:g} ms per GET",
        flush=True,
    )
    worst = 0.0
    for days in args.days:
        results = []
        for size in args.sizes:
            r = measure(size, args.cameras, days, args.new, args.list_ms, args.get_ms)
            results.append(r)
            print(
                f"  {days:>2} day(s), {r['keys']:>9,} sample keys: tick {r['seconds']:.2f}s; "
                f"listed {r['listed']:,} keys in {r['list_calls']:,} LIST requests, {r['get_calls']:,} GETs; "
                f"cursor {r['cursor_folders']:,} folders",
                flush=True,
            )
        if len(results) > 1:
            a, b = results[0], results[-1]
            print(
                f"  {days:>2} day(s) growth {a['keys']:,} -> {b['keys']:,} sample keys: "
                f"tick x{b['seconds'] / a['seconds']:.1f}, keys listed x{b['listed'] / a['listed']:.1f}, "
                f"LIST requests x{b['list_calls'] / a['list_calls']:.1f}",
                flush=True,
            )
        worst = max(worst, results[-1]["seconds"])
    print(f"slowest tick at the largest size: {worst:.2f}s (target < {args.target_s:g}s)")
    return 0 if worst < args.target_s else 1


if __name__ == "__main__":
    raise SystemExit(main())
