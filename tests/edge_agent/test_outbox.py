"""The outbox: durable enqueue, ordered at-least-once upload, retries, disk budget, crash recovery."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from edge_agent.backoff import backoff_delay
from edge_agent.outbox import (
    TELEMETRY_PRIORITY,
    Outbox,
    OutboxConfig,
    OutboxPart,
    read_ledger,
)
from edge_agent.transport import LocalDirTransport, TransportError
from maskops_contracts import sample_key


class RecordingStore(LocalDirTransport):
    """A real directory store that records the order of puts and can be switched off."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts: list[str] = []
        self.down = threading.Event()

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if self.down.is_set():
            raise TransportError(f"put {key}: connection refused (store switched off by the test)")
        super().put(key, data, content_type)
        self.puts.append(key)


def sample_parts(n: int, size: int = 100) -> list[OutboxPart]:
    sid = f"s{n:04d}"
    return [
        OutboxPart(sample_key("cam-1", "2026-11-23", sid, "jpg"), bytes([n % 256]) * size, "image/jpeg"),
        OutboxPart(sample_key("cam-1", "2026-11-23", sid, "json"), b'{"n": %d}' % n, "application/json"),
    ]


FAST = OutboxConfig(retry_initial_s=0.02, retry_max_s=0.1)


def test_enqueue_is_durable_before_upload_starts(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store")
    outbox = Outbox(tmp_path / "spool", FAST, store)
    assert outbox.enqueue("sample", sample_parts(1), priority=0.5)
    outbox.close()  # never started: nothing uploaded, as if the process died here

    reopened = Outbox(tmp_path / "spool", FAST, store)
    assert reopened.stats().depth == {"sample": 1, "telemetry": 0}
    reopened.start()
    assert reopened.drain(10)
    reopened.close()
    assert store.get(sample_key("cam-1", "2026-11-23", "s0001", "json")) == b'{"n": 1}'
    assert list((tmp_path / "spool" / "files").iterdir()) == []


def test_uploads_image_before_record_and_in_order(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store")
    outbox = Outbox(tmp_path / "spool", FAST, store)
    for n in range(5):
        outbox.enqueue("sample", sample_parts(n), priority=0.5)
    outbox.start()
    assert outbox.drain(10)
    outbox.close()
    assert store.puts == [p.key for n in range(5) for p in sample_parts(n)]
    ledger = read_ledger(tmp_path / "spool")
    assert set(ledger.values()) == {"delivered"}
    assert len(ledger) == 10


def test_retries_with_backoff_until_the_store_is_back(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store")
    store.down.set()
    outbox = Outbox(tmp_path / "spool", FAST, store, seed=1)
    outbox.start()
    for n in range(4):
        outbox.enqueue("sample", sample_parts(n), priority=0.5)
    assert not outbox.drain(0.5)
    stats = outbox.stats()
    assert stats.upload_errors >= 2
    assert stats.depth["sample"] == 4
    assert "connection refused" in (stats.last_error or "")
    store.down.clear()
    assert outbox.drain(10)
    outbox.close()
    # every sample arrives, and each object exactly once
    assert sorted(store.puts) == sorted(p.key for n in range(4) for p in sample_parts(n))
    assert outbox.stats().uploaded["sample"] == 4


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(0)
    delays = [backoff_delay(n, 1.0, 8.0, rng) for n in range(1, 8)]
    assert 0.5 <= delays[0] <= 1.0
    assert 2.0 <= delays[2] <= 4.0
    assert all(4.0 <= d <= 8.0 for d in delays[4:])
    assert len({round(d, 6) for d in delays}) == len(delays)


def test_full_outbox_evicts_least_informative_first(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store")
    # room for three samples of ~110 bytes
    outbox = Outbox(tmp_path / "spool", OutboxConfig(max_bytes=340), store)
    assert outbox.enqueue("sample", sample_parts(1), priority=0.9)
    assert outbox.enqueue("sample", sample_parts(2), priority=0.2)
    assert outbox.enqueue("sample", sample_parts(3), priority=0.6)
    # a more informative sample pushes out the least informative one (n=2)
    assert outbox.enqueue("sample", sample_parts(4), priority=0.7)
    # a less informative one than everything queued is dropped itself
    assert not outbox.enqueue("sample", sample_parts(5), priority=0.1)
    stats = outbox.stats()
    assert stats.dropped["sample"] == 2
    assert stats.depth["sample"] == 3
    assert stats.bytes <= 340
    ledger = outbox.ledger()
    assert ledger[sample_key("cam-1", "2026-11-23", "s0002", "jpg")] == "evicted"
    assert sample_key("cam-1", "2026-11-23", "s0005", "jpg") not in ledger
    # telemetry outranks every sample
    assert outbox.enqueue(
        "telemetry",
        [OutboxPart("telemetry/cam-1/2026-11-23/b1.parquet", b"t" * 100, "x")],
        TELEMETRY_PRIORITY,
    )
    assert outbox.stats().depth == {"sample": 2, "telemetry": 1}
    outbox.start()
    assert outbox.drain(10)
    outbox.close()
    assert {k.rsplit("/", 1)[1] for k in store.puts} == {
        "s0001.jpg",
        "s0001.json",
        "s0004.jpg",
        "s0004.json",
        "b1.parquet",
    }


def test_item_bigger_than_the_budget_is_dropped_not_crashing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "spool", OutboxConfig(max_bytes=50), RecordingStore(tmp_path / "store"))
    assert not outbox.enqueue("sample", sample_parts(1), priority=1.0)
    assert outbox.stats().dropped["sample"] == 1
    outbox.close()


def test_recovery_removes_unacknowledged_payloads(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store")
    outbox = Outbox(tmp_path / "spool", FAST, store)
    outbox.enqueue("sample", sample_parts(1), priority=0.5)
    outbox.close()
    # a crash after the payload was written but before its row was committed
    orphan = tmp_path / "spool" / "files" / "deadbeef.part"
    orphan.write_bytes(b"half-enqueued")
    reopened = Outbox(tmp_path / "spool", FAST, store)
    assert not orphan.exists()
    assert reopened.stats().total_depth == 1
    reopened.close()


def test_enqueue_needs_parts(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "spool", FAST, RecordingStore(tmp_path / "store"))
    with pytest.raises(ValueError, match="at least one part"):
        outbox.enqueue("sample", [], priority=0.5)
    outbox.close()


def test_a_failed_eviction_rolls_back_and_the_outbox_keeps_working(tmp_path: Path) -> None:
    """A statement failing inside a write transaction (a full disk, say) must roll it back:
    left open, every later BEGIN fails and the outbox accepts nothing more."""
    import sqlite3

    store = RecordingStore(tmp_path / "store")
    outbox = Outbox(tmp_path / "spool", FAST, store)
    assert outbox.enqueue("sample", sample_parts(1), priority=0.2)
    item_id = outbox._db.execute("SELECT id FROM items").fetchone()[0]
    outbox._db.execute(
        "CREATE TEMP TRIGGER no_delete BEFORE DELETE ON items BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        outbox._delete_item(item_id, ledger_state="evicted")
    assert not outbox._db.in_transaction
    outbox._db.execute("DROP TRIGGER no_delete")
    assert outbox.enqueue("sample", sample_parts(2), priority=0.5)
    assert outbox.stats().depth["sample"] == 2
    outbox.close()


def test_a_payload_that_cannot_be_written_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    """A full disk halfway through an item (the .jpg written, the .json not): the error reaches
    the caller, no stray file is left in the spool, and the outbox takes the next item."""
    import errno

    import edge_agent.outbox as outbox_module

    outbox = Outbox(tmp_path / "spool", FAST, RecordingStore(tmp_path / "store"))
    real_write = outbox_module.write_atomic
    calls = []

    def second_write_fails(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(outbox_module, "write_atomic", second_write_fails)
    with pytest.raises(OSError, match="No space left"):
        outbox.enqueue("sample", sample_parts(1), priority=0.5)
    assert list(outbox.files_dir.iterdir()) == []
    assert outbox.stats().depth["sample"] == 0
    assert outbox.enqueue("sample", sample_parts(2), priority=0.5)
    assert len(list(outbox.files_dir.iterdir())) == 2
    outbox.close()


def test_the_ledger_is_pruned_while_the_agent_runs(tmp_path: Path) -> None:
    """A box that never restarts must still honour ledger_retention_days."""
    store = RecordingStore(tmp_path / "store")
    outbox = Outbox(
        tmp_path / "spool",
        OutboxConfig(
            ledger_retention_days=1.0, **FAST.model_dump(include={"retry_initial_s", "retry_max_s"})
        ),
        store,
    )
    outbox.prune_every_s = 0.05
    old = time.time() - 3 * 86400
    outbox._db.execute(
        "INSERT INTO ledger (key, kind, state, updated_at) VALUES ('samples/a/2026-11-20/x.jpg', 'sample', "
        "'delivered', ?)",
        (old,),
    )
    assert outbox.enqueue("sample", sample_parts(1), priority=0.5)
    outbox.start()
    assert outbox.drain(10)
    deadline = time.monotonic() + 10
    while "samples/a/2026-11-20/x.jpg" in read_ledger(tmp_path / "spool"):
        assert time.monotonic() < deadline, "the old ledger row was never pruned"
        time.sleep(0.02)
    ledger = read_ledger(tmp_path / "spool")
    assert ledger[sample_key("cam-1", "2026-11-23", "s0001", "jpg")] == "delivered"  # recent: kept
    outbox.close()
