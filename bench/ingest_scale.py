"""The ingest sensor's tick as the store grows: ``find_new_samples`` (what ``new_samples_sensor``
runs each tick) over 100k and 1M sample keys from 1,000 cameras, when 1,000 samples are new.

The store is an in-memory stand-in with S3's listing semantics (sorted keys, ``StartAfter``, pages
of 1,000), so the figure is the sensor's own work, and the LIST and GET calls it makes are counted:
on S3 each LIST page is a round trip (tens of ms), so ``--list-ms`` turns the count into an estimate
of the listing time against a real bucket, and ``--get-ms`` the ledger reads likewise (an estimate,
printed beside the measured time, never added to it).
Filling moto with a million objects would take far longer than the tick itself on this box.

The old samples are batched first (cursor and per-folder ledgers as the sensor leaves them); then
one new sample arrives per camera, and one tick is timed.

    .venv/bin/python bench/ingest_scale.py --sizes 100000 1000000 --cameras 1000 --new 1000
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import time

from maskops_assets.ingest.batches import find_new_samples, make_batch, record_batched
from maskops_assets.store import ObjectNotFoundError

DAY = "2026-11-30"


class SortedMemoryStore:
    """Keys in a sorted list (S3's listing order), counting LIST pages and GETs."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.data: dict[str, bytes] = {}
        self.list_calls = 0
        self.get_calls = 0

    def bulk_load(self, keys: list[str]) -> None:
        self.keys = sorted(set(self.keys) | set(keys))
        for key in keys:
            self.data.setdefault(key, b"")

    def list_keys(self, prefix: str = "", *, start_after: str | None = None, limit: int = 1000) -> list[str]:
        self.list_calls += 1
        lo = (
            bisect.bisect_right(self.keys, start_after)
            if start_after
            else bisect.bisect_left(self.keys, prefix)
        )
        lo = max(lo, bisect.bisect_left(self.keys, prefix))
        out = []
        for key in self.keys[lo : lo + limit]:
            if not key.startswith(prefix):
                break
            out.append(key)
        return out

    def get_bytes(self, key: str) -> bytes:
        self.get_calls += 1
        try:
            return self.data[key]
        except KeyError:
            raise ObjectNotFoundError(self.describe(), key) from None

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
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


def sample_keys(camera: int, index: int) -> list[str]:
    sample_id = hashlib.sha256(f"{camera}-{index}".encode()).hexdigest()[:16]
    base = f"samples/cam-{camera:04d}/{DAY}/{sample_id}"
    return [f"{base}.jpg", f"{base}.json"]


def measure(total_keys: int, cameras: int, new: int, list_ms: float, get_ms: float) -> dict:
    per_camera = total_keys // (2 * cameras)  # two keys (jpg + json) per sample
    store = SortedMemoryStore()
    old = [k for cam in range(cameras) for i in range(per_camera) for k in sample_keys(cam, i)]
    store.bulk_load(old)
    # what the sensor has done before: every old record batched, cursor at each folder's count
    found = find_new_samples(store, {}, max_records=len(old))
    record_batched(store, make_batch(found.record_keys))
    cursor = found.cursor
    # new arrivals: `new` samples spread over the cameras
    store.bulk_load([k for n in range(new) for k in sample_keys(n % cameras, per_camera + n // cameras)])
    store.list_calls = store.get_calls = 0
    started = time.perf_counter()
    tick = find_new_samples(store, cursor, page_size=1000, max_records=new)
    seconds = time.perf_counter() - started
    assert len(tick.record_keys) == new, (len(tick.record_keys), new)
    return {
        "keys": len(store.keys),
        "seconds": seconds,
        "list_calls": store.list_calls,
        "get_calls": store.get_calls,
        "s3_estimate_s": seconds + (store.list_calls * list_ms + store.get_calls * get_ms) / 1000,
        "listed": tick.keys_listed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--list-ms", type=float, default=30.0, help="assumed S3 LIST round trip, ms")
    parser.add_argument("--get-ms", type=float, default=15.0, help="assumed S3 GET round trip, ms")
    parser.add_argument("--target-s", type=float, default=5.0)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        print(f"ingest_scale: building {size:,} sample keys over {args.cameras} cameras ...", flush=True)
        r = measure(size, args.cameras, args.new, args.list_ms, args.get_ms)
        results.append(r)
        print(
            f"  {r['keys']:,} keys in store: tick {r['seconds']:.2f}s measured, listed {r['listed']:,} keys "
            f"in {r['list_calls']} LIST pages, {r['get_calls']} GETs; at {args.list_ms:g} ms per S3 LIST and "
            f"{args.get_ms:g} ms per GET about {r['s3_estimate_s']:.1f}s",
            flush=True,
        )
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(
            f"growth {a['keys']:,} -> {b['keys']:,} keys: measured x{b['seconds'] / a['seconds']:.1f}, "
            f"LIST pages x{b['list_calls'] / a['list_calls']:.1f}"
        )
    worst = results[-1]["s3_estimate_s"]
    print(f"largest store: about {worst:.1f}s per tick against S3 (target < {args.target_s:g}s)")
    return 0 if worst < args.target_s else 1


if __name__ == "__main__":
    raise SystemExit(main())
