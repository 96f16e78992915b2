"""SQLite recorder: eventsourcing's, plus the chain written in the same transaction.

The chain head is read after the event rows are inserted, when this
transaction already holds SQLite's write lock, so writers are serialised.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ConnectionUnavailableError,
    IntegrityError,
    Notification,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteFactory,
)

from ledger.persistence.chain import (
    BULK_EVENTS,
    ChainedEvent,
    ChainLink,
    Checkpoint,
    CheckpointStep,
    build_links,
    format_recorded_at,
    parse_recorded_at,
)
from ledger.persistence.log import LogRecord

CHAIN_TABLE = "ledger_chain"
CHECKPOINT_TABLE = "ledger_integrity_checkpoint"

_HEAD = f"SELECT position, hash, recorded_at FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1"
_INSERT_LINK = (
    f"INSERT INTO {CHAIN_TABLE} "
    "(position, originator_id, originator_version, recorded_at, hash) VALUES (?, ?, ?, ?, ?)"
)
_SELECT_CHAIN = (
    "SELECT position, originator_id, originator_version, recorded_at, hash "
    f"FROM {CHAIN_TABLE} WHERE position > ? ORDER BY position LIMIT ?"
)
_LINK_AT = f"SELECT hash FROM {CHAIN_TABLE} WHERE position = ?"
# The first statement of the checkpoint's transaction writes, so it takes SQLite's
# write lock at once (a read first would pin a snapshot that a later write may not use).
_CLAIM_CHECKPOINT = (
    f"INSERT INTO {CHECKPOINT_TABLE} (id, position, hash, links) VALUES (1, 0, ?, 0) "
    "ON CONFLICT (id) DO NOTHING"
)
_SELECT_CHECKPOINT = (
    f"SELECT position, hash, links, verified_at, broken_at, problem FROM {CHECKPOINT_TABLE}"
)
_UPDATE_CHECKPOINT = (
    f"UPDATE {CHECKPOINT_TABLE} SET position = ?, hash = ?, links = ?, verified_at = ?, "
    "broken_at = ?, problem = ? WHERE id = 1"
)
# One seek of the time index, whose entries end with the rowid (the position): see postgres.py.
_POSITION_AT = (f"SELECT position FROM {CHAIN_TABLE} WHERE recorded_at <= ? "
                "ORDER BY recorded_at DESC, position DESC LIMIT 1")
_VERSION_AT = (
    f"SELECT MAX(originator_version) FROM {CHAIN_TABLE} WHERE originator_id = ? AND position <= ?"
)
_POSITION_OF = (
    f"SELECT position FROM {CHAIN_TABLE} WHERE originator_id = ? AND originator_version = ?"
)


class _WritersQueuedPool(SQLiteConnectionPool):
    """eventsourcing's SQLite pool, whose writers wait for one another in a queue of their
    own, as long as SQLite waits for its write lock and a little more.

    SQLite has one writer at a time across processes (a projection batch, an import, a
    replay), and the pool lends its one writer connection to one thread at a time: a
    command waiting on SQLite's lock holds it meanwhile. The pool's own wait for it is a
    fixed 5 s (`SQLiteDatastore`'s default; the factory reads no setting for it), and it
    waits while holding the semaphore every reader takes too. So the integrity keeper or
    the next command gave up after 5 s where SQLite would have waited 30 (a valid command
    answered 503 on a busy machine), and every read stalled behind them meanwhile. Here a
    writer first takes its place in the writers' queue, outside that semaphore: readers
    pass, and the pool's wait for the writer connection is over before it begins."""

    def __init__(self, *, writers_timeout: float, **options: Any) -> None:
        super().__init__(**options)
        self._writers = threading.Lock()
        self._writers_timeout = writers_timeout

    def get_connection(self, timeout: float | None = None,
                       is_writer: bool | None = None) -> SQLiteConnection:
        if is_writer is not True:
            return super().get_connection(timeout=timeout, is_writer=is_writer)
        if not self._writers.acquire(timeout=self._writers_timeout):
            raise ConnectionUnavailableError("Timed out waiting for the other writers")
        try:
            return super().get_connection(timeout=timeout, is_writer=True)
        except BaseException:
            self._writers.release()
            raise

    def put_connection(self, conn: SQLiteConnection) -> None:
        writer = conn.is_writer is True
        try:
            super().put_connection(conn)
        finally:
            if writer:
                self._writers.release()


class LedgerSQLiteFactory(SQLiteFactory):
    """eventsourcing's SQLite factory, with the pool above (`_WritersQueuedPool`)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        lock_timeout = pool.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT
        self.datastore.pool = _WritersQueuedPool(
            db_name=pool.db_name, lock_timeout=pool.lock_timeout,
            writers_timeout=lock_timeout + WRITER_MARGIN)
        pool.close()  # made by the library's datastore; it opened no connection yet


WRITER_MARGIN = 5.0  # seconds a writer may take once it has SQLite's lock


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
            "position INTEGER PRIMARY KEY, originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, recorded_at TEXT NOT NULL, "
            "hash BLOB NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {CHAIN_TABLE}_aggregate_idx "
            f"ON {CHAIN_TABLE} (originator_id, originator_version)",
            f"CREATE INDEX IF NOT EXISTS {CHAIN_TABLE}_recorded_at_idx "
            f"ON {CHAIN_TABLE} (recorded_at)",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} ("
            "id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, "
            "hash BLOB NOT NULL, links INTEGER NOT NULL, verified_at TEXT, "
            "broken_at INTEGER, problem TEXT)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if len(stored_events) >= BULK_EVENTS:
            ids: Sequence[int] | None = self._insert_many(c, stored_events)
        else:
            ids = super()._insert_events(c, stored_events, **kwargs)
        if not ids:
            return ids
        # After our insert this transaction holds the write lock and sees the latest
        # state; raising here rolls the whole transaction back.
        for originator_id, version in kwargs.get("read_guards", ()):
            c.execute(
                f"SELECT COALESCE(MAX(originator_version), 0) FROM {self.events_table_name} "
                "WHERE originator_id = ?",
                (_hex(originator_id),),
            )
            row = c.fetchone()
            if row is None or row[0] != version:
                raise IntegrityError("read guard: an aggregate this decision read has changed")
        c.execute(_HEAD)
        head = c.fetchone()
        previous = bytes(head[1]) if head else bytes(32)
        previous_at = parse_recorded_at(head[2]) if head else None
        links = build_links(
            previous,
            previous_at,
            list(ids),
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events],
        )
        c.executemany(
            _INSERT_LINK,
            [
                (pos, _hex(oid), version, format_recorded_at(at), digest)
                for pos, oid, version, at, digest in links
            ],
        )
        return ids

    def _insert_many(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        """The bulk path: one executemany instead of a statement per event. The rowids
        follow on from the largest, one by one, while this transaction holds the write
        lock; checked at both ends all the same (a full table hands out random ones)."""
        c.executemany(self.insert_events_statement, [
            (_hex(s.originator_id), s.originator_version, s.topic, s.state)
            for s in stored_events])
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        first = last - len(stored_events) + 1
        for position, s in ((first, stored_events[0]), (last, stored_events[-1])):
            c.execute(f"SELECT originator_id, originator_version FROM {self.events_table_name} "
                      "WHERE rowid = ?", (position,))
            if tuple(c.fetchone() or ()) != (_hex(s.originator_id), s.originator_version):
                raise ProgrammingError("bulk insert: the rowids are not consecutive")
        return list(range(first, last + 1))

    def select_chain(self, *, after: int, limit: int) -> Sequence[ChainLink]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_SELECT_CHAIN, (after, limit))
            return [
                ChainLink(
                    position=row[0],
                    originator_id=UUID(row[1]),
                    originator_version=row[2],
                    recorded_at=parse_recorded_at(row[3]),
                    hash=bytes(row[4]),
                )
                for row in c.fetchall()
            ]

    def select_chained_events(
        self, *, after: int, limit: int, upto: int | None = None
    ) -> Sequence[ChainedEvent]:
        statement = (
            "SELECT c.position, e.originator_id, e.originator_version, e.topic, e.state, "
            f"c.recorded_at, c.hash FROM {CHAIN_TABLE} c JOIN {self.events_table_name} e "
            "ON e.rowid = c.position WHERE c.position > ? AND c.position <= ? "
            "ORDER BY c.position LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (after, upto if upto is not None else 2**62, limit))
            return [
                ChainedEvent(
                    position=row[0],
                    originator_id=UUID(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=bytes(row[4]),
                    recorded_at=parse_recorded_at(row[5]),
                    hash=bytes(row[6]),
                )
                for row in c.fetchall()
            ]

    def read_log(self, *, after: int, limit: int, upto: int | None = None) -> list[LogRecord]:
        """The next `limit` records after `after` (up to `upto`), in position order."""
        return self._log("c.position > ? AND c.position <= ? ORDER BY c.position LIMIT ?",
                         (after, upto if upto is not None else 2**62, limit))

    def read_log_at(self, positions: Sequence[int]) -> list[LogRecord]:
        """The records at `positions` (those that exist), in position order."""
        found: list[LogRecord] = []
        wanted = sorted(set(positions))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found += self._log(f"c.position IN ({', '.join('?' for _ in chunk)}) "
                               "ORDER BY c.position", chunk)
        return found

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of these aggregates, by aggregate and version (a few queries for
        many aggregates with short histories, where the repository makes one each)."""
        events: list[StoredEvent] = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(originator_ids), 500):
                chunk = [_hex(i) for i in originator_ids[start:start + 500]]
                c.execute(
                    "SELECT originator_id, originator_version, topic, state FROM "
                    f"{self.events_table_name} WHERE originator_id IN "
                    f"({', '.join('?' * len(chunk))}) ORDER BY originator_id, originator_version",
                    chunk)
                events.extend(StoredEvent(originator_id=UUID(row[0]),
                                          originator_version=row[1], topic=row[2],
                                          state=bytes(row[3])) for row in c.fetchall())
        return events

    def _log(self, condition: str, params: Sequence[Any]) -> list[LogRecord]:
        statement = (
            "SELECT c.position, e.originator_id, e.originator_version, e.topic, e.state, "
            f"c.recorded_at, hex(c.hash) FROM {CHAIN_TABLE} c JOIN {self.events_table_name} e "
            f"ON e.rowid = c.position WHERE {condition}"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                LogRecord(row[0], str(UUID(row[1])), row[2], row[3], bytes(row[4]), row[5],
                          row[6].lower())
                for row in c.fetchall()
            ]

    def chain_head(self) -> tuple[int, bytes]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_HEAD)
            row = c.fetchone()
            return (row[0], bytes(row[1])) if row else (0, bytes(32))

    def link_at(self, position: int) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            return _SQLiteChainReader(c, self.events_table_name).link_at(position)

    def read_checkpoint(self) -> Checkpoint:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_SELECT_CHECKPOINT)
            return _checkpoint(c.fetchone())

    def update_checkpoint(self, step: CheckpointStep, *, wait: bool) -> Checkpoint | None:
        """Under SQLite's write lock, which also serialises the log's writers, so `step` is
        bounded. `wait` changes nothing: another extender holds the lock for a few ms only."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(_CLAIM_CHECKPOINT, (bytes(32),))
            c.execute(_SELECT_CHECKPOINT)
            current = _checkpoint(c.fetchone())
            new = step(current, _SQLiteChainReader(c, self.events_table_name))
            if new != current:
                c.execute(_UPDATE_CHECKPOINT, (
                    new.position, new.hash, new.links,
                    format_recorded_at(new.verified_at) if new.verified_at else None,
                    new.broken_at, new.problem))
            return new

    def position_at(self, moment: datetime) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_POSITION_AT, (format_recorded_at(moment),))
            row = c.fetchone()
            return int(row[0]) if row else 0

    def position_of(self, originator_id: UUID, originator_version: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_POSITION_OF, (_hex(originator_id), originator_version))
            row = c.fetchone()
            return int(row[0]) if row else None

    def version_at(self, originator_id: UUID, position: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_VERSION_AT, (_hex(originator_id), position))
            row = c.fetchone()
            return int(row[0]) if row and row[0] is not None else None


class _SQLiteChainReader:
    """Both sides of the chain, read inside one transaction."""

    def __init__(self, c: SQLiteCursor, events_table: str) -> None:
        self._c = c
        self._events = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {events_table} "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )

    def links_after(self, after: int, limit: int) -> Sequence[ChainLink]:
        self._c.execute(_SELECT_CHAIN, (after, limit))
        return [ChainLink(row[0], UUID(row[1]), row[2], parse_recorded_at(row[3]), bytes(row[4]))
                for row in self._c.fetchall()]

    def events_after(self, after: int, limit: int) -> Sequence[Notification]:
        self._c.execute(self._events, (after, limit))
        return [Notification(id=row[0], originator_id=UUID(row[1]), originator_version=row[2],
                             topic=row[3], state=bytes(row[4])) for row in self._c.fetchall()]

    def link_at(self, position: int) -> bytes | None:
        self._c.execute(_LINK_AT, (position,))
        row = self._c.fetchone()
        return bytes(row[0]) if row else None


def _checkpoint(row: Any) -> Checkpoint:
    if row is None:
        return Checkpoint()
    at = parse_recorded_at(row[3]) if row[3] else None
    return Checkpoint(row[0], bytes(row[1]), row[2], at, row[4], row[5])


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else UUID(originator_id).hex
