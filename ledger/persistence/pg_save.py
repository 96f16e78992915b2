"""The small save of the PostgreSQL recorder (a command's events): one round trip.

A save is one transaction in this order: the EXCLUSIVE lock on the events table (which
orders every writer of the log), NOTIFY, the read guards, the events at their positions,
their chain links, COMMIT. The links hash each event's position, recorded time and the
hash before it, so they can only be computed once the chain's head is known.

eventsourcing's own save runs in psycopg's `transaction()` inside a pipeline, which syncs
five times (entering the transaction, after the insert, the links, the commit, leaving the
pipeline). Here:

- **predicted** (the usual case): the recorder remembers the head its own last save left,
  so the positions and links are computed before anything is sent, and the whole save is
  one statement (`save_function`, run in autocommit: a transaction of its own), one
  execute and one round trip. The guard function checks, under the lock, that the head is
  still the one predicted; if another process (a second worker, an import) wrote since,
  it raises `HEAD_MOVED`, the transaction is rolled back with nothing written, and the save runs
  again unpredicted. Trust in the remembered head is checked, never assumed. After a lost
  bet the recorder stops betting until an unpredicted save finds the head where its own
  last save left it, so several writing processes do not pay a lost round trip each.
- **unpredicted** (the first save, or after a miss): one pipeline with an explicit BEGIN;
  positions are drawn from the events' sequence under the lock and the head is read with
  the guards (first sync); then the events, links and COMMIT (second sync).

Both write explicit positions, as the bulk path (`pg_bulk.py`) does, and keep the sequence
ahead of them, so every writer — this one, the bulk path, another process — draws fresh
positions. Positions follow commit order because every writer holds the lock from before
it picks positions until its commit.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, NamedTuple
from uuid import UUID

import psycopg
from eventsourcing import persistence
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg import Connection, Cursor, Pipeline, postgres
from psycopg.abc import AdaptContext
from psycopg.adapt import Dumper
from psycopg.pq import Format, TransactionStatus
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.persistence.chain import build_links

# psycopg's errors as eventsourcing's (the writer and the recorder's retries catch those),
# most specific first, as eventsourcing's own `PostgresDatastore.get_connection` maps them.
_TRANSLATED: tuple[tuple[type[psycopg.Error], type[Exception]], ...] = (
    (psycopg.InterfaceError, persistence.InterfaceError),
    (psycopg.OperationalError, persistence.OperationalError),
    (psycopg.DataError, persistence.DataError),
    (psycopg.IntegrityError, persistence.IntegrityError),
    (psycopg.InternalError, persistence.InternalError),
    (psycopg.ProgrammingError, persistence.ProgrammingError),
    (psycopg.NotSupportedError, persistence.NotSupportedError),
    (psycopg.DatabaseError, persistence.DatabaseError),
)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        for theirs, ours in _TRANSLATED:
            if isinstance(exc, theirs):
                raise ours(str(exc)) from exc
        raise


#: SQLSTATE the guard function raises when the chain's head is not the predicted one.
HEAD_MOVED = "LH001"


Links = list[tuple[int, UUID | str, int, datetime, bytes]]  # chain.build_links


class Head(NamedTuple):
    position: int
    hash: bytes
    recorded_at: datetime | None  # None before the first event

    @classmethod
    def of_row(cls, row: Any) -> Head:
        """The head read by `sql_head` (position, hash, recorded_at); genesis if none."""
        return cls(row[0], bytes(row[1]), row[2]) if row else GENESIS

    @classmethod
    def after(cls, links: Links) -> Head:
        """The head a save of these links leaves."""
        position, _, _, recorded_at, digest = links[-1]
        return cls(position, digest, recorded_at)


GENESIS = Head(0, bytes(32), None)


# -- the save's arrays ---------------------------------------------------------------------
#
# psycopg dumps a plain list by looking at its items (which types, any None, any nesting)
# on every execute, ~3 us a list; a save sends nine. These list types say their element
# type, and their dumpers write PostgreSQL's binary array format (array_recv: ndim,
# has-null, element oid, then length and lower bound, then each item's length and bytes)
# in one step. Their items are never None.

_pack_head = struct.Struct("!III").pack  # ndim, has-null flag, element oid
_pack_dim = struct.Struct("!II").pack  # length, lower bound
_pack_len = struct.Struct("!i").pack
_pack_int8 = struct.Struct("!iq").pack  # an item: its length (8) and the value


class Int8Array(list[int]):
    """A bigint[] parameter."""


class UuidArray(list[UUID]):
    """A uuid[] parameter."""


class TextArray(list[str]):
    """A text[] parameter."""


class ByteaArray(list[bytes]):
    """A bytea[] parameter."""


class _ArrayDumper(Dumper):
    format = Format.BINARY
    element: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        info = postgres.types[cls.element]
        cls.oid, cls._element_oid = info.array_oid, info.oid

    _element_oid: ClassVar[int]

    def dump(self, obj: list[Any]) -> bytes:
        if not obj:
            return _pack_head(0, 0, self._element_oid)
        return b"".join((_pack_head(1, 0, self._element_oid), _pack_dim(len(obj), 1),
                         *self.items(obj)))

    def items(self, obj: list[Any]) -> Iterable[bytes]:
        raise NotImplementedError


class _Int8ArrayDumper(_ArrayDumper):
    element = "int8"

    def items(self, obj: list[int]) -> Iterable[bytes]:
        return map(_pack_int8, [8] * len(obj), obj)


class _UuidArrayDumper(_ArrayDumper):
    element = "uuid"

    def items(self, obj: list[UUID]) -> Iterable[bytes]:
        return [b"\x00\x00\x00\x10" + u.bytes for u in obj]


class _TextArrayDumper(_ArrayDumper):
    element = "text"

    def __init__(self, cls: type, context: AdaptContext | None = None) -> None:
        super().__init__(cls, context)
        self._encoding = self.connection.info.encoding if self.connection else "utf-8"

    def items(self, obj: list[str]) -> Iterable[bytes]:
        encoded = [t.encode(self._encoding) for t in obj]
        return [b for t in encoded for b in (_pack_len(len(t)), t)]


class _ByteaArrayDumper(_ArrayDumper):
    element = "bytea"

    def items(self, obj: list[bytes]) -> Iterable[bytes]:
        return [b for t in obj for b in (_pack_len(len(t)), t)]


# Registered where every connection copies its adapters from, before any connects.
for _array, _dumper in ((Int8Array, _Int8ArrayDumper), (UuidArray, _UuidArrayDumper),
                        (TextArray, _TextArrayDumper), (ByteaArray, _ByteaArrayDumper)):
    psycopg.adapters.register_dumper(_array, _dumper)


def _qualified_events(names: dict[str, Identifier]) -> Literal:
    """'schema.events', as pg_get_serial_sequence takes it."""
    return Literal(f"{names['schema'].as_string()}.{names['events'].as_string()}")


def guard_function(names: dict[str, Identifier], events_table: str) -> tuple[Identifier, Composed]:
    """The function's name (one per events table) and its CREATE OR REPLACE statement.

    A read guard that moved raises unique_violation, as a lost race on a version does,
    so the writer decides the batch again on fresh state."""
    name = Identifier(f"{events_table}_save_check")
    create = SQL(
        "CREATE OR REPLACE FUNCTION {schema}.{name}(guard_ids uuid[], guard_versions bigint[], "
        "head_position bigint, head_hash bytea) RETURNS void LANGUAGE plpgsql AS $check$ "
        "BEGIN "
        "IF EXISTS (SELECT 1 FROM unnest(guard_ids, guard_versions) AS g(id, version) "
        "WHERE (SELECT COALESCE(MAX(originator_version), 0) FROM {schema}.{events} "
        "WHERE originator_id = g.id) <> g.version) THEN "
        "RAISE EXCEPTION 'read guard: an aggregate this decision read has changed' "
        "USING ERRCODE = 'unique_violation'; END IF; "
        "IF head_position IS NOT NULL AND NOT EXISTS (SELECT 1 FROM (SELECT position, hash "
        "FROM {schema}.{chain} ORDER BY position DESC LIMIT 1) AS h "
        "WHERE h.position = head_position AND h.hash = head_hash) THEN "
        "RAISE EXCEPTION 'the chain head moved' USING ERRCODE = {moved}; END IF; "
        "END $check$"
    ).format(**names, name=name, moved=Literal(HEAD_MOVED))
    return name, create


def save_function(names: dict[str, Identifier], events_table: str, check: Identifier
                  ) -> tuple[Identifier, Composed]:
    """A predicted save as one statement, so one execute and one round trip: the lock,
    NOTIFY, the guards and the head (`check`), the events, their links, and the sequence
    kept ahead of them. In autocommit it is a transaction of its own."""
    name = Identifier(f"{events_table}_save")
    create = SQL(
        "CREATE OR REPLACE FUNCTION {schema}.{name}(lock_timeout text, channel text, "
        "guard_ids uuid[], guard_versions bigint[], head_position bigint, head_hash bytea, "
        "positions bigint[], ids uuid[], versions bigint[], topics text[], states bytea[], "
        "recorded timestamptz, hashes bytea[]) RETURNS void LANGUAGE plpgsql AS $save$ "
        "BEGIN "
        "PERFORM set_config('lock_timeout', lock_timeout, true); "
        "LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE; "
        "PERFORM pg_notify(channel, ''); "
        "PERFORM {schema}.{check}(guard_ids, guard_versions, head_position, head_hash); "
        "INSERT INTO {schema}.{events} "
        "(notification_id, originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(positions, ids, versions, topics, states); "
        "INSERT INTO {schema}.{chain} "
        "(position, originator_id, originator_version, recorded_at, hash) "
        "SELECT p, o, v, recorded, h FROM unnest(positions, ids, versions, hashes) "
        "AS t(p, o, v, h); "
        "PERFORM setval(q.s, GREATEST(positions[array_upper(positions, 1)], "
        "COALESCE(pg_sequence_last_value(q.s::regclass), 0))) "
        "FROM (SELECT pg_get_serial_sequence({table}, 'notification_id') AS s) AS q; "
        "END $save$"
    ).format(**names, name=name, check=check,
             table=_qualified_events(names))
    return name, create


class PostgresSmallSave:
    def __init__(self, datastore: PostgresDatastore, names: dict[str, Identifier],
                 events_table: str, *, lock: Callable[[Cursor[Any]], None],
                 notify: Callable[[Cursor[Any]], None], channel: str) -> None:
        self._datastore, self._lock, self._notify = datastore, lock, notify
        self._last: Head | None = None  # the head this recorder's last save left
        self._bet = True  # whether the next save predicts it (off while others write)
        self._mutex = threading.Lock()
        # The saves' own connection (see `_connection`), and who uses it now.
        self._own: Connection[DictRow] | None = None
        self._own_lock = threading.Lock()
        function, create_check = guard_function(names, events_table)
        save, create_save = save_function(names, events_table, function)
        self.sql_create = [create_check, create_save]
        self._sql_save = SQL(
            "SELECT {schema}.{save}(%b, %b, %b::uuid[], %b::bigint[], %b::bigint, %b::bytea, "
            "%b::bigint[], %b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b, %b::bytea[])"
        ).format(**names, save=save)
        self._save_bytes: bytes | None = None
        self._cursors: dict[int, Cursor[Any]] = {}  # by connection (see _cursor)
        self._lock_timeout = f"{int(datastore.lock_timeout)}s"
        self._channel = channel
        # The statements the bulk path (pg_bulk.py) shares: the guards (and the head, when
        # one is predicted), n positions from the sequence in one step, the chain's head.
        self.sql_check = SQL(
            "SELECT {schema}.{function}(%b::uuid[], %b::bigint[], %b::bigint, %b::bytea)"
        ).format(**names, function=function)
        self.sql_reserve = SQL(
            "SELECT setval(s, nextval(s) + %b - 1) FROM "
            "(SELECT pg_get_serial_sequence({table}, 'notification_id') AS s) AS q"
        ).format(table=_qualified_events(names))
        self.sql_head = SQL(
            "SELECT position, hash, recorded_at FROM {schema}.{chain} "
            "ORDER BY position DESC LIMIT 1").format(**names)
        self._sql_events = SQL(
            "INSERT INTO {schema}.{events} "
            "(notification_id, originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::bigint[], %b::uuid[], %b::bigint[], %b::text[], "
            "%b::bytea[])").format(**names)
        self._sql_links = SQL(
            "INSERT INTO {schema}.{chain} "
            "(position, originator_id, originator_version, recorded_at, hash) "
            "SELECT p, o, v, %b, h FROM unnest(%b::bigint[], %b::uuid[], %b::bigint[], "
            "%b::bytea[]) AS t(p, o, v, h)").format(**names)

    def remember(self, head: Head) -> None:
        """The head after a committed save of this process (kept if it is the newest)."""
        with self._mutex:
            if self._last is None or head.position > self._last.position:
                self._last = head

    def save(self, stored_events: Sequence[StoredEvent],
             read_guards: Sequence[tuple[Any, int]] = ()) -> list[int]:
        """Writes the events and their links in one transaction; their positions, in the
        order of `stored_events`. Raises eventsourcing's IntegrityError (nothing written)
        when a guarded aggregate has moved on or an event's version is taken."""
        with self._mutex:
            known = self._last
            predicted = known if self._bet else None
            if predicted is not None:
                self._last = None  # one save at a time bets on it
        guards = (UuidArray([g if type(g) is UUID else UUID(str(g)) for g, _ in read_guards]),
                  Int8Array([v for _, v in read_guards]))
        with self._connection() as conn:
            if predicted is not None:
                try:
                    return self._run(conn, stored_events, guards, predicted)
                except psycopg.Error as exc:
                    if exc.sqlstate != HEAD_MOVED:
                        raise
                    # Another process writes too: stop betting until a save finds the
                    # head where this one left it (each lost bet costs a round trip).
                    self._bet = False
            return self._run(conn, stored_events, guards, None, known=known)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection[DictRow]]:
        """The saves' own connection, or one from the pool while another thread uses it.

        psycopg's pool hands its idle connections out in turn (first in, first out), so
        consecutive saves would each wake a different server process, idle since the
        save before last: a tenth of a millisecond more per save than one process kept
        busy. The saves of a Ledger come one at a time (its writer), so they keep one
        connection checked out, until `release` or until it fails."""
        if not self._own_lock.acquire(blocking=False):
            with self._datastore.get_connection() as shared:
                yield shared
            return
        try:
            conn = self._own
            if conn is None:
                with _translated():
                    pool = self._datastore.pool
                    pool.open(self._datastore.pool_open_timeout is not None,
                              self._datastore.pool_open_timeout or 30.0)
                    conn = self._own = pool.getconn()
            try:
                with _translated():
                    yield conn
            finally:
                if conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
                    self._discard()  # broken, or left in a transaction: the pool decides
        finally:
            self._own_lock.release()

    def _discard(self) -> None:
        conn, self._own = self._own, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a closed pool, a broken connection
                self._datastore.pool.putconn(conn)

    def release(self) -> None:
        """Gives the saves' own connection back to the pool (before the pool closes)."""
        with self._own_lock:
            self._discard()

    def _run(self, conn: Connection[DictRow], stored_events: Sequence[StoredEvent],
             guards: tuple[UuidArray, Int8Array], predicted: Head | None,
             *, known: Head | None = None) -> list[int]:
        if predicted is not None:
            return self._run_predicted(conn, stored_events, guards, predicted)
        failure: BaseException | None = None
        try:
            try:
                with conn.pipeline() as pipeline, conn.cursor(row_factory=tuple_row) as curs:
                    try:
                        positions, links = self._send(pipeline, curs, stored_events, guards,
                                                      known=known)
                    except BaseException as exc:  # raised once the pipeline has ended
                        failure = exc
            except psycopg.Error as exc:
                # An error met while sending (results are read as they come) is the cause;
                # the end of the pipeline then only reports the statements it aborted.
                failure = failure or exc
        finally:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        if failure is not None:
            raise failure
        self.remember(Head.after(links))
        return positions

    def _run_predicted(self, conn: Connection[DictRow], stored_events: Sequence[StoredEvent],
                       guards: tuple[UuidArray, Int8Array], predicted: Head) -> list[int]:
        """The whole save as one statement (`save_function`), answered with one round trip."""
        n = len(stored_events)
        positions = Int8Array(range(predicted.position + 1, predicted.position + n + 1))
        ids, versions, links = self._links(predicted, positions, stored_events)
        query = self._save_bytes
        if query is None:  # the statement as bytes, rendered once rather than per save
            query = self._save_bytes = self._sql_save.as_bytes(conn)
        self._cursor(conn).execute(query, (
            self._lock_timeout, self._channel, *guards, predicted.position,
            predicted.hash, positions, ids, versions,
            TextArray([s.topic for s in stored_events]),
            ByteaArray([s.state for s in stored_events]), links[0][3],
            ByteaArray([row[4] for row in links]),
        ), prepare=True)
        self.remember(Head.after(links))
        return positions

    def _cursor(self, conn: Connection[DictRow]) -> Cursor[Any]:
        """The connection's cursor for the predicted save, kept: psycopg keeps a cursor's
        adaptation (its Transformer and the dumpers it chose) while the same query object
        runs again, which halves the parameters' conversion. Its answer is void, so it
        reads rows as tuples (no column names looked up)."""
        curs = self._cursors.get(id(conn))
        if curs is None or curs.connection is not conn or curs.closed:
            curs = conn.cursor(row_factory=tuple_row)
            if len(self._cursors) >= 64:  # connections the pool replaced
                self._cursors.clear()
            self._cursors[id(conn)] = curs
        return curs

    def _send(self, pipeline: Pipeline, curs: Cursor[Any], stored_events: Sequence[StoredEvent],
              guards: tuple[UuidArray, Int8Array], *, known: Head | None
              ) -> tuple[list[int], Links]:
        """The unpredicted save's statements; COMMIT is answered when the pipeline ends."""
        n = len(stored_events)
        curs.execute("BEGIN")
        self._lock(curs)
        self._notify(curs)
        curs.execute(self.sql_check, (*guards, None, None), prepare=True)
        curs.execute(self.sql_reserve, (n,), prepare=True)
        with curs.connection.cursor(row_factory=tuple_row) as head_cursor:
            head_cursor.execute(self.sql_head, prepare=True)
            pipeline.sync()
            last = int(curs.fetchone()[0])  # type: ignore[index]  # setval: one row
            head = Head.of_row(head_cursor.fetchone())
        if known is not None and head[:2] == known[:2]:
            self._bet = True  # nobody else wrote since this recorder's last save
        positions = list(range(last - n + 1, last + 1))
        links = self._write(curs, head, positions, stored_events)
        curs.execute("COMMIT")
        return positions, links

    @staticmethod
    def _links(head: Head, positions: list[int], stored_events: Sequence[StoredEvent]
               ) -> tuple[UuidArray, Int8Array, Links]:
        ids = UuidArray([s.originator_id if type(s.originator_id) is UUID
                         else UUID(str(s.originator_id)) for s in stored_events])
        versions = Int8Array([s.originator_version for s in stored_events])
        links = build_links(head.hash, head.recorded_at, positions,
                            [(i, s.originator_version, s.topic, s.state)
                             for i, s in zip(ids, stored_events, strict=True)])
        return ids, versions, links

    def _write(self, curs: Cursor[Any], head: Head, positions: list[int],
               stored_events: Sequence[StoredEvent]) -> Links:
        ids, versions, links = self._links(head, positions, stored_events)
        curs.execute(self._sql_events, (Int8Array(positions), ids, versions,
                                        TextArray([s.topic for s in stored_events]),
                                        ByteaArray([s.state for s in stored_events])),
                     prepare=True)
        curs.execute(self._sql_links, (links[0][3], Int8Array(positions), ids, versions,
                                       ByteaArray([row[4] for row in links])), prepare=True)
        return links
