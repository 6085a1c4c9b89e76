"""The outbox: a durable disk spool between the camera threads and the object store.

Each queued item is one or more objects (a sample is its ``.jpg`` then its ``.json``,
a telemetry batch is one ``.parquet``). Enqueue writes the payload files and fsyncs
them, then commits a row to SQLite (WAL, ``synchronous=FULL``) before it returns, so
a kept sample survives SIGKILL or power loss. One upload thread sends items in order,
parts in order (the record never points at a missing image), and deletes an item
only after every part is stored: delivery is at-least-once, and because keys are
content hashes a repeat writes the same key and makes no duplicate.

The spool is bounded by ``max_bytes``: when full, the least informative items (lowest
priority) are evicted first and counted; telemetry is enqueued with a priority above
any sample, so it goes last. A ledger table remembers every key the outbox accepted
and what became of it (queued, delivered, evicted), which is the agent's own record
of what it kept.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.backoff import backoff_delay
from edge_agent.logs import OnceLogger, log_event
from edge_agent.transport import Transport, TransportError, write_atomic
from maskops_store import fsync_dir

logger = logging.getLogger("edge_agent.outbox")

ItemKind = Literal["sample", "telemetry"]
#: Telemetry batches are small and the drift report needs them: evict them after every sample.
TELEMETRY_PRIORITY = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    priority REAL NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS parts (
    item_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (item_id, seq)
);
CREATE TABLE IF NOT EXISTS ledger (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_due ON items (next_attempt_at, id);
CREATE INDEX IF NOT EXISTS items_priority ON items (priority, id);
"""


class OutboxConfig(BaseModel):
    """The disk spool's budget and retry policy."""

    model_config = ConfigDict(extra="forbid")

    #: Disk budget for queued payloads; past it the least informative samples are evicted.
    max_bytes: int = Field(default=1 << 30, gt=0)
    retry_initial_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=300.0, gt=0)
    #: On SIGTERM, keep uploading for up to this long before exiting.
    drain_timeout_s: float = Field(default=10.0, ge=0)
    #: JPEG quality of sample images.
    jpeg_quality: int = Field(default=90, ge=10, le=100)
    #: Ledger rows of delivered/evicted keys are forgotten after this many days.
    ledger_retention_days: float = Field(default=7.0, gt=0)


@dataclass(frozen=True)
class OutboxPart:
    """One object of an item: its store key, bytes and content type."""

    key: str
    data: bytes
    content_type: str


@dataclass
class OutboxStats:
    """Counters since start plus the current depth; read by ``/metrics`` and ``/healthz``."""

    depth: dict[str, int] = field(default_factory=lambda: {"sample": 0, "telemetry": 0})
    bytes: int = 0
    enqueued: dict[str, int] = field(default_factory=lambda: {"sample": 0, "telemetry": 0})
    uploaded: dict[str, int] = field(default_factory=lambda: {"sample": 0, "telemetry": 0})
    dropped: dict[str, int] = field(default_factory=lambda: {"sample": 0, "telemetry": 0})
    upload_errors: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None

    @property
    def total_depth(self) -> int:
        return sum(self.depth.values())


class Outbox:
    """Durable queue of objects to upload, with its own upload thread.

    ``spool_dir`` holds ``outbox.sqlite`` and a ``files/`` folder of payloads.
    """

    #: how often the upload thread forgets ledger rows past ``ledger_retention_days``
    prune_every_s = 3600.0

    def __init__(self, spool_dir: Path, cfg: OutboxConfig, transport: Transport, *, seed: int | None = None):
        self.cfg = cfg
        self.transport = transport
        self.spool_dir = Path(spool_dir)
        self.files_dir = self.spool_dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.spool_dir / "outbox.sqlite", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk when it returns, which is what "enqueue is durable" means.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: int | None = None
        self._rng = random.Random(seed)
        self._once = OnceLogger(logger)
        self._stats = OutboxStats()
        self._recover()

    # ---------------------------------------------------------------- start-up
    def _recover(self) -> None:
        """Resume after a crash: forget payload files no row points at, drop rows whose files vanished."""
        with self._lock:
            referenced = {row[0] for row in self._db.execute("SELECT file FROM parts")}
            orphans = 0
            for path in self.files_dir.iterdir():
                if path.name not in referenced:
                    # a crash between writing the payload and committing its row: never acknowledged
                    path.unlink(missing_ok=True)
                    orphans += 1
            broken = [
                item_id
                for (item_id, name) in self._db.execute("SELECT item_id, file FROM parts")
                if not (self.files_dir / name).is_file()
            ]
            for item_id in set(broken):
                self._delete_item(item_id, ledger_state="lost")
            self._refresh_depth()
            resumed = self._stats.total_depth
        self.prune_ledger()
        if resumed or orphans or broken:
            log_event(
                logger,
                logging.INFO,
                "outbox_resumed",
                f"outbox resumed with {resumed} queued items ({orphans} unacknowledged payloads removed, "
                f"{len(set(broken))} items with missing files dropped)",
                queued=resumed,
                orphans=orphans,
                lost=len(set(broken)),
            )

    def _refresh_depth(self) -> None:
        depth = {"sample": 0, "telemetry": 0}
        total = 0
        for kind, count, size in self._db.execute(
            "SELECT kind, COUNT(*), COALESCE(SUM(size_bytes), 0) FROM items GROUP BY kind"
        ):
            depth[kind] = count
            total += size
        self._stats.depth = depth
        self._stats.bytes = total

    # ---------------------------------------------------------------- enqueue
    def enqueue(self, kind: ItemKind, parts: Sequence[OutboxPart], priority: float) -> bool:
        """Queue ``parts`` (uploaded in this order) durably; False when the budget made it drop them.

        Returns once the payload and its row are on disk.
        """
        if not parts:
            raise ValueError("an outbox item needs at least one part")
        size = sum(len(p.data) for p in parts)
        names = [f"{uuid.uuid4().hex}.part" for _ in parts]
        try:
            for name, part in zip(names, parts, strict=True):
                write_atomic(self.files_dir / name, part.data)
            fsync_dir(self.files_dir)
        except BaseException:  # a full disk: nothing of this item stays behind, nothing else is touched
            for name in names:
                (self.files_dir / name).unlink(missing_ok=True)
            raise
        now = time.time()
        with self._lock:
            if not self._make_room(size, priority):
                for name in names:
                    (self.files_dir / name).unlink(missing_ok=True)
                self._stats.dropped[kind] += 1
                self._once.log(
                    logging.WARNING,
                    "outbox_full",
                    kind,
                    f"outbox is full ({self._stats.bytes} of {self.cfg.max_bytes} bytes): dropping new {kind}"
                    " items that are less informative than what is queued (counted in "
                    "maskops_edge_outbox_dropped_total)",
                    kind=kind,
                )
                return False
            try:
                with self._transaction():
                    cur = self._db.execute(
                        "INSERT INTO items (kind, priority, size_bytes, created_at, next_attempt_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (kind, float(priority), size, now, now),
                    )
                    item_id = cur.lastrowid
                    self._db.executemany(
                        "INSERT INTO parts (item_id, seq, key, content_type, file) VALUES (?, ?, ?, ?, ?)",
                        [(item_id, i, p.key, p.content_type, names[i]) for i, p in enumerate(parts)],
                    )
                    self._db.executemany(
                        "INSERT OR REPLACE INTO ledger (key, kind, state, updated_at) "
                        "VALUES (?, ?, 'queued', ?)",
                        [(p.key, kind, now) for p in parts],
                    )
            except BaseException:
                for name in names:
                    (self.files_dir / name).unlink(missing_ok=True)
                raise
            self._stats.enqueued[kind] += 1
            self._stats.depth[kind] += 1
            self._stats.bytes += size
        self._wake.set()
        return True

    def _make_room(self, size: int, priority: float) -> bool:
        """Evict lower-or-equal priority items until ``size`` more bytes fit; False if they cannot."""
        if self._stats.bytes + size <= self.cfg.max_bytes:
            return True
        if size > self.cfg.max_bytes:
            return False
        victims: list[tuple[int, str]] = []
        freed = 0
        for item_id, kind, item_size, item_priority in self._db.execute(
            "SELECT id, kind, size_bytes, priority FROM items ORDER BY priority ASC, id ASC"
        ):
            if self._stats.bytes - freed + size <= self.cfg.max_bytes:
                break
            if item_priority > priority:
                return False  # everything left is more informative than the newcomer
            if item_id == self._inflight:
                continue
            victims.append((item_id, kind))
            freed += item_size
        if self._stats.bytes - freed + size > self.cfg.max_bytes:
            return False
        for item_id, kind in victims:
            self._delete_item(item_id, ledger_state="evicted")
            self._stats.dropped[kind] += 1
        self._refresh_depth()
        return True

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, rolled back on any error, so a failed statement (a full disk)
        never leaves the connection inside a transaction that every later BEGIN would trip on."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _delete_item(self, item_id: int, *, ledger_state: str) -> None:
        parts = self._db.execute("SELECT key, file FROM parts WHERE item_id = ?", (item_id,)).fetchall()
        now = time.time()
        with self._transaction():
            self._db.execute("DELETE FROM items WHERE id = ?", (item_id,))
            self._db.execute("DELETE FROM parts WHERE item_id = ?", (item_id,))
            self._db.executemany(
                "UPDATE ledger SET state = ?, updated_at = ? WHERE key = ?",
                [(ledger_state, now, k) for k, _ in parts],
            )
        # Files go after the commit: a crash in between leaves orphans that _recover removes.
        for _, name in parts:
            (self.files_dir / name).unlink(missing_ok=True)

    # ---------------------------------------------------------------- upload thread
    def start(self) -> None:
        """Start the upload thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="outbox-upload", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the upload thread after the part in flight; queued items stay on disk."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        self.stop()
        with self._lock:
            self._db.close()

    def _next_due(self) -> tuple[int, str, int, float] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, kind, attempts, next_attempt_at FROM items ORDER BY next_attempt_at, id LIMIT 1"
            ).fetchone()
            if row is not None and row[3] <= time.time():
                self._inflight = row[0]
            return row

    def _run(self) -> None:
        next_prune = time.monotonic() + self.prune_every_s
        while not self._stop.is_set():
            if time.monotonic() >= next_prune:  # the retention window holds on a box that never restarts
                self.prune_ledger()
                next_prune = time.monotonic() + self.prune_every_s
            row = self._next_due()
            if row is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            item_id, kind, attempts, due = row
            wait = due - time.time()
            if wait > 0:
                self._wake.wait(min(wait, 1.0))
                self._wake.clear()
                continue
            try:
                self._upload(item_id, kind, attempts)
            except Exception as err:  # the upload thread must outlive any one item
                self._once.log(
                    logging.ERROR,
                    "outbox_upload_crash",
                    type(err).__name__,
                    f"unexpected error uploading outbox item {item_id}: {err!r}",
                    item_id=item_id,
                )
                with self._lock:
                    self._stats.upload_errors += 1
                self._stop.wait(self.cfg.retry_initial_s)
            finally:
                with self._lock:
                    self._inflight = None

    def _upload(self, item_id: int, kind: str, attempts: int) -> None:
        with self._lock:
            parts = self._db.execute(
                "SELECT key, content_type, file FROM parts WHERE item_id = ? ORDER BY seq", (item_id,)
            ).fetchall()
        try:
            for key, content_type, name in parts:
                data = (self.files_dir / name).read_bytes()
                self.transport.put(key, data, content_type)
        except FileNotFoundError as err:
            with self._lock:
                self._delete_item(item_id, ledger_state="lost")
                self._stats.dropped[kind] += 1
                self._refresh_depth()
            self._once.log(
                logging.ERROR,
                "outbox_payload_missing",
                str(item_id),
                f"outbox item {item_id} lost its payload file ({err}); dropped",
                item_id=item_id,
            )
            return
        except TransportError as err:
            self._failed(item_id, attempts, err)
            return
        with self._lock:
            self._delete_item(item_id, ledger_state="delivered")
            self._stats.uploaded[kind] += 1
            self._refresh_depth()
            recovered = self._stats.consecutive_failures > 0
            self._stats.consecutive_failures = 0
        if recovered:
            self._once.forget("outbox_upload_failed")
            log_event(
                logger, logging.INFO, "outbox_store_back", f"uploads to {self.transport.describe()} resumed"
            )

    def _failed(self, item_id: int, attempts: int, err: TransportError) -> None:
        with self._lock:
            self._stats.upload_errors += 1
            self._stats.consecutive_failures += 1
            self._stats.last_error = str(err)
            failures = self._stats.consecutive_failures
            delay = backoff_delay(attempts + 1, self.cfg.retry_initial_s, self.cfg.retry_max_s, self._rng)
            self._db.execute(
                "UPDATE items SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (time.time() + delay, str(err)[:500], item_id),
            )
        # Logged once per outage, not once per retry; the counter keeps the real number.
        self._once.log(
            logging.WARNING,
            "outbox_upload_failed",
            "outage",
            f"upload to {self.transport.describe()} failed, will retry with backoff "
            f"(items stay queued on disk): {err}",
            item_id=item_id,
        )
        # The store is likely down for everyone: pause the whole queue, not just this item.
        self._stop.wait(backoff_delay(failures, self.cfg.retry_initial_s, self.cfg.retry_max_s, self._rng))

    # ---------------------------------------------------------------- reading
    def drain(self, timeout_s: float | None) -> bool:
        """Wait until the queue is empty (True) or ``timeout_s`` passed (False; None = no limit)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            with self._lock:
                if self._stats.total_depth == 0:
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wake.set()
            time.sleep(0.05)

    def stats(self) -> OutboxStats:
        """A copy of the counters and depth."""
        with self._lock:
            s = self._stats
            return OutboxStats(
                depth=dict(s.depth),
                bytes=s.bytes,
                enqueued=dict(s.enqueued),
                uploaded=dict(s.uploaded),
                dropped=dict(s.dropped),
                upload_errors=s.upload_errors,
                consecutive_failures=s.consecutive_failures,
                last_error=s.last_error,
            )

    def ledger(self) -> dict[str, str]:
        """Every key this outbox accepted (within the retention window) and its state."""
        with self._lock:
            return dict(self._db.execute("SELECT key, state FROM ledger"))

    def prune_ledger(self) -> int:
        """Forget delivered/evicted keys older than the retention window; returns how many."""
        cutoff = time.time() - self.cfg.ledger_retention_days * 86400
        with self._lock:
            cur = self._db.execute("DELETE FROM ledger WHERE state != 'queued' AND updated_at < ?", (cutoff,))
            return cur.rowcount


def read_ledger(spool_dir: Path) -> dict[str, str]:
    """The ledger of an outbox on disk (read-only; for tests and operators)."""
    db = sqlite3.connect(f"file:{Path(spool_dir) / 'outbox.sqlite'}?mode=ro", uri=True)
    with contextlib.closing(db):
        return dict(db.execute("SELECT key, state FROM ledger"))
