"""PostgreSQL recorder: eventsourcing's, plus the chain written in the same transaction.

eventsourcing takes an EXCLUSIVE lock on the events table before inserting, so
inserts commit in position order; the chain link is computed under that lock
from the previous head, and so the chain has no gaps or forks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from ledger.persistence.chain import (
    BULK_EVENTS,
    ChainedEvent,
    ChainLink,
    Checkpoint,
    CheckpointStep,
)
from ledger.persistence.log import LogRecord
from ledger.persistence.pg_bulk import PostgresBulkWriter
from ledger.persistence.pg_checkpoint import CHECKPOINT_TABLE, PostgresCheckpoint
from ledger.persistence.pg_save import PostgresSmallSave
from ledger.persistence.watch import LogWatch, postgres_watch

CHAIN_TABLE = "ledger_chain"

# Every schema change of the product (the log's and the projections' DDL) takes it.
SCHEMA_LOCK_KEY = "program-ledger:schema"

class ChainedPostgresRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if self.datastore.originator_id_type != "uuid":
            raise ValueError("the ledger's log keys its aggregates by uuid "
                             f"(ORIGINATOR_ID_TYPE is {self.datastore.originator_id_type!r})")
        # eventsourcing names the NOTIFY channel after the events table alone, and
        # notifications are per database: ledgers in two schemas of one database would
        # wake each other's watches (watch.py). One channel per schema, short enough for
        # pg_notify whatever the schema's name.
        schema_tag = hashlib.blake2b(self.datastore.schema.encode(), digest_size=6).hexdigest()
        self.channel_name = f"{self.channel_name}_{schema_tag}"
        names = {
            "schema": Identifier(self.datastore.schema),
            "chain": Identifier(CHAIN_TABLE),
            "events": Identifier(self.events_table_name),
            "index": Identifier(f"{CHAIN_TABLE}_aggregate_idx"),
            "time_index": Identifier(f"{CHAIN_TABLE}_recorded_at_idx"),
            "checkpoint": Identifier(CHECKPOINT_TABLE),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{chain} ("
                "position bigint PRIMARY KEY, "
                "originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, "
                "recorded_at timestamptz NOT NULL, "
                "hash bytea NOT NULL)"
            ).format(**names)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{chain} "
                "(originator_id, originator_version)"
            ).format(**names)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE INDEX IF NOT EXISTS {time_index} ON {schema}.{chain} (recorded_at)"
            ).format(**names)
        )
        self._checkpoint = PostgresCheckpoint(self.datastore, names)
        self.sql_create_statements.append(self._checkpoint.sql_create)
        self._sql_head = SQL(
            "SELECT position, hash, recorded_at FROM {schema}.{chain} "
            "ORDER BY position DESC LIMIT 1"
        ).format(**names)
        self._sql_select_chain = SQL(
            "SELECT position, originator_id, originator_version, recorded_at, hash "
            "FROM {schema}.{chain} WHERE position > %s ORDER BY position LIMIT %s"
        ).format(**names)
        self._sql_select_chained = SQL(
            "SELECT c.position, e.originator_id, e.originator_version, e.topic, "
            "e.state, c.recorded_at, c.hash "
            "FROM {schema}.{chain} c JOIN {schema}.{events} e "
            "ON e.notification_id = c.position "
            "WHERE c.position > %s AND c.position <= %s ORDER BY c.position LIMIT %s"
        ).format(**names)
        # Without an upper bound the planner walks the index range cheaply.
        self._sql_select_chained_open = SQL(
            "SELECT c.position, e.originator_id, e.originator_version, e.topic, "
            "e.state, c.recorded_at, c.hash "
            "FROM {schema}.{chain} c JOIN {schema}.{events} e "
            "ON e.notification_id = c.position "
            "WHERE c.position > %s ORDER BY c.position LIMIT %s"
        ).format(**names)
        self._names = names
        self._sql_events_of = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{events} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(**names)
        self._small = PostgresSmallSave(self.datastore, names, self.events_table_name,
                                        lock=self._lock_table, notify=self._notify_channel,
                                        channel=self.channel_name)
        self.sql_create_statements.extend(self._small.sql_create)
        self._bulk = PostgresBulkWriter(self.datastore, names, lock=self._lock_table,
                                        notify=self._notify_channel,
                                        small=self._small)
        # The log as readers want it: text where they want text, formatted by the server.
        # The page's links first (one range of the chain's key, LIMIT inside), then their
        # events: joined before the LIMIT, the plan hung on the estimate of the range, and
        # with statistics behind an append-only log PostgreSQL merge-joined the events'
        # index from its start or bitmap-scanned the whole range (a page after position n
        # read n rows: 0.3-1.5 s per 1,000 events near 1M, now 2-3 ms anywhere).
        def page(bounds: str) -> Composed:
            return SQL(
                "SELECT c.position, e.originator_id::text, e.originator_version, e.topic, "
                "e.state, to_char(c.recorded_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), encode(c.hash, 'hex') "
                "FROM (SELECT position, recorded_at, hash FROM {schema}.{chain} "
                "WHERE " + bounds + " ORDER BY position LIMIT %(limit)s) c "
                "JOIN {schema}.{events} e ON e.notification_id = c.position "
                "ORDER BY c.position"
            ).format(**names)

        self._sql_read_log = page("position > %(after)s")
        self._sql_read_log_at = SQL(
            "SELECT c.position, e.originator_id::text, e.originator_version, e.topic, e.state, "
            "to_char(c.recorded_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), encode(c.hash, 'hex') "
            "FROM {schema}.{chain} c JOIN {schema}.{events} e "
            "ON e.notification_id = c.position WHERE c.position = ANY(%s) ORDER BY c.position"
        ).format(**names)
        self._sql_read_log_upto = page("position > %(after)s AND position <= %(upto)s")
        # The last link recorded at or before a time: read backwards along the time index,
        # only the links of that one moment (a commit's) sorted by position. `MAX(position)
        # … WHERE recorded_at <= T` walked the primary key down from the head past every
        # link recorded after T (0.4–2.6 s for a time early in a 1M-event log).
        self._sql_position_at = SQL(
            "SELECT position FROM {schema}.{chain} WHERE recorded_at <= %s "
            "ORDER BY recorded_at DESC, position DESC LIMIT 1"
        ).format(**names)
        self._sql_version_at = SQL(
            "SELECT MAX(originator_version) AS version FROM {schema}.{chain} "
            "WHERE originator_id = %s AND position <= %s"
        ).format(**names)
        self._sql_position_of = SQL(
            "SELECT position FROM {schema}.{chain} "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(**names)

    def release(self) -> None:
        """Gives back the connection the saves keep (pg_save.py); the Ledger's close."""
        self._small.release()

    def log_watch(self) -> LogWatch:
        """A LogWatch (not started) on the channel every save of the log notifies."""
        return postgres_watch(self.datastore, self.channel_name)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """A command's save is one round trip (pg_save.py); a large save (an import, the
        demo, the bench's log) takes the bulk path (pg_bulk.py)."""
        if not stored_events:
            return []
        guards = kwargs.get("read_guards", ())
        if len(stored_events) >= BULK_EVENTS:
            return self._bulk.save(stored_events, guards)
        return self._small.save(stored_events, guards)

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of these aggregates, by aggregate and version, in one query (the
        repository makes one per aggregate)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_events_of, (list(originator_ids),), prepare=True)
            return [StoredEvent(originator_id=row["originator_id"],
                                originator_version=row["originator_version"],
                                topic=row["topic"], state=bytes(row["state"]))
                    for row in curs.fetchall()]

    def select_chain(self, *, after: int, limit: int) -> Sequence[ChainLink]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_select_chain, (after, limit), prepare=True)
            return [
                ChainLink(
                    position=row["position"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    recorded_at=row["recorded_at"],
                    hash=bytes(row["hash"]),
                )
                for row in curs.fetchall()
            ]

    def select_chained_events(
        self, *, after: int, limit: int, upto: int | None = None
    ) -> Sequence[ChainedEvent]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            if upto is None:
                curs.execute(self._sql_select_chained_open, (after, limit), prepare=True)
            else:
                curs.execute(self._sql_select_chained, (after, upto, limit), prepare=True)
            return [
                ChainedEvent(
                    position=row["position"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                    recorded_at=row["recorded_at"],
                    hash=bytes(row["hash"]),
                )
                for row in curs.fetchall()
            ]

    def read_log(self, *, after: int, limit: int, upto: int | None = None) -> list[LogRecord]:
        """The next `limit` records after `after` (up to `upto`), in position order."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            # No "position <= 2**62" stand-in for "no bound": it makes the plan 4x slower.
            if upto is None:
                curs.execute(self._sql_read_log, {"after": after, "limit": limit},
                             prepare=True)
            else:
                curs.execute(self._sql_read_log_upto,
                             {"after": after, "upto": upto, "limit": limit}, prepare=True)
            return [LogRecord(*row) for row in curs.fetchall()]

    def read_log_at(self, positions: Sequence[int]) -> list[LogRecord]:
        """The records at `positions` (those that exist), in position order."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self._sql_read_log_at, (list(positions),), prepare=True)
            return [LogRecord(*row) for row in curs.fetchall()]

    def chain_head(self) -> tuple[int, bytes]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_head, prepare=True)
            row = curs.fetchone()
            return (row["position"], bytes(row["hash"])) if row else (0, bytes(32))

    def link_at(self, position: int) -> bytes | None:
        return self._checkpoint.link_at(position)

    def read_checkpoint(self) -> Checkpoint:
        return self._checkpoint.read()

    def update_checkpoint(self, step: CheckpointStep, *, wait: bool) -> Checkpoint | None:
        return self._checkpoint.update(step, wait=wait)

    def position_at(self, moment: datetime) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_position_at, (moment,), prepare=True)
            row = curs.fetchone()
            return int(row["position"]) if row else 0

    def position_of(self, originator_id: UUID, originator_version: int) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self._sql_position_of, (originator_id, originator_version), prepare=True
            )
            row = curs.fetchone()
            return int(row["position"]) if row else None

    def version_at(self, originator_id: UUID, position: int) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_version_at, (originator_id, position), prepare=True)
            row = curs.fetchone()
            return int(row["version"]) if row and row["version"] is not None else None


@contextmanager
def schema_lock(datastore: PostgresDatastore) -> Iterator[None]:
    """Holds the product's schema lock (a session-level advisory lock on a connection
    of its own) while eventsourcing creates its tables and types."""
    with datastore.get_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s)::bigint)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s)::bigint)", (SCHEMA_LOCK_KEY,))


class LedgerPostgresFactory(PostgresFactory):
    """eventsourcing's factory, with the log's and the snapshots' recorders made under
    the schema lock: processes starting at once (`ledger serve --workers N`, an import
    beside a server) would otherwise race on `CREATE TYPE` / `CREATE TABLE IF NOT
    EXISTS` and fail with a unique violation or "tuple concurrently updated"."""

    application_recorder_class = ChainedPostgresRecorder

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        with schema_lock(self.datastore):
            self._create_schema()
            return super().aggregate_recorder(purpose)

    def application_recorder(self) -> ApplicationRecorder:
        with schema_lock(self.datastore):
            self._create_schema()
            return super().application_recorder()

    def _create_schema(self) -> None:
        """The schema `?schema=` names, made where this process makes tables (`ledger
        serve`, `demo`, `import`) and it does not exist yet: "the tables in PostgreSQL's
        database and schema". Looked up first: CREATE SCHEMA IF NOT EXISTS needs the
        right to create in the database even where the schema exists."""
        if not self.env_create_table():
            return
        schema = self.datastore.schema
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if curs.fetchone() is None:
                curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
