"""The local store lists in key order while skipping folders: the same pages as sorting every key."""

from __future__ import annotations

import random
from pathlib import Path

from maskops_store import LocalStore

# names chosen so folder order and key order differ unless folders sort as "<name>/":
# "a-b" < "a/..." < "a0" < "a_" in key order ('-' 0x2d < '/' 0x2f < '0' 0x30 < '_' 0x5f)
NAMES = ["a", "a-b", "a0", "a_", "b", "ab", "z"]


def _tree(store: LocalStore, rng: random.Random) -> list[str]:
    keys = set()
    for _ in range(120):
        depth = rng.randint(1, 4)
        parts = [rng.choice(NAMES) for _ in range(depth)]
        keys.add("/".join(parts) + rng.choice(["", ".json", ".jpg"]))
    # a key may not also be a folder: drop keys that are prefixes of others' folders
    keys = {k for k in keys if not any(o.startswith(k + "/") for o in keys)}
    for key in keys:
        store.put_bytes(key, b"x")
    return sorted(keys)


def _reference(keys: list[str], prefix: str, start_after: str | None, limit: int) -> list[str]:
    chosen = [k for k in keys if k.startswith(prefix) and (start_after is None or k > start_after)]
    return chosen[:limit]


def test_pages_equal_a_sort_of_every_key(tmp_path: Path) -> None:
    rng = random.Random(7)
    store = LocalStore(tmp_path / "store")
    keys = _tree(store, rng)
    prefixes = ["", "a", "a/", "a-", "a/a", "ab/", "z/a", "nothing/"]
    starts = [None, "a", "a/", "a-b", "a/a-b/", "a0/z", "ab", *rng.sample(keys, 10)]
    for prefix in prefixes:
        for start_after in starts:
            for limit in (1, 3, 1000):
                got = store.list_keys(prefix, start_after=start_after, limit=limit)
                assert got == _reference(keys, prefix, start_after, limit), (prefix, start_after, limit)


def test_paging_visits_every_key_once(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    keys = _tree(store, random.Random(11))
    seen: list[str] = []
    after = None
    while page := store.list_keys("", start_after=after, limit=7):
        seen.extend(page)
        after = page[-1]
    assert seen == keys
