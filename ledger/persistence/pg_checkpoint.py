"""The verified checkpoint on PostgreSQL: one row beside the chain, extended under a
transaction-level advisory lock, so two extenders (threads or servers) never race
and neither blocks the writers of the log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.persistence.chain import ChainLink, Checkpoint, CheckpointStep

CHECKPOINT_TABLE = "ledger_integrity_checkpoint"
_LOCK = "SELECT true AS locked FROM pg_advisory_xact_lock(hashtext(%s)::bigint)"
_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext(%s)::bigint) AS locked"


class PostgresCheckpoint:
    def __init__(self, datastore: PostgresDatastore, names: dict[str, Identifier]) -> None:
        self._datastore = datastore
        # One lock per schema: each schema holds its own ledger.
        self._lock_name = f"{datastore.schema}.{CHECKPOINT_TABLE}"
        self.sql_create = SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{checkpoint} ("
            "id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL, "
            "hash bytea NOT NULL, links bigint NOT NULL, verified_at timestamptz, "
            "broken_at bigint, problem text)"
        ).format(**names)
        self._sql_select = SQL(
            "SELECT position, hash, links, verified_at, broken_at, problem "
            "FROM {schema}.{checkpoint}"
        ).format(**names)
        self._sql_upsert = SQL(
            "INSERT INTO {schema}.{checkpoint} "
            "(id, position, hash, links, verified_at, broken_at, problem) "
            "VALUES (1, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
            "position = excluded.position, hash = excluded.hash, links = excluded.links, "
            "verified_at = excluded.verified_at, broken_at = excluded.broken_at, "
            "problem = excluded.problem"
        ).format(**names)
        self._reads = {
            "links": SQL(
                "SELECT position, originator_id, originator_version, recorded_at, hash "
                "FROM {schema}.{chain} WHERE position > %s ORDER BY position LIMIT %s"
            ).format(**names),
            "events": SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {schema}.{events} WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s"
            ).format(**names),
            "link_at": SQL("SELECT hash FROM {schema}.{chain} WHERE position = %s").format(
                **names),
        }

    def link_at(self, position: int) -> bytes | None:
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            return _PostgresChainReader(curs, self._reads).link_at(position)

    def read(self) -> Checkpoint:
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_select, prepare=True)
            return _checkpoint(curs.fetchone())

    def update(self, step: CheckpointStep, *, wait: bool) -> Checkpoint | None:
        # READ COMMITTED: each read sees the latest commits, so the row read after the
        # lock is the one the previous holder wrote (REPEATABLE READ could pin an older
        # snapshot and fail the update); the merge tolerates events committed meanwhile.
        with self._datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            curs.execute(_LOCK if wait else _TRY_LOCK, (self._lock_name,))
            row = curs.fetchone()
            if not wait and not (row and row["locked"]):
                return None
            curs.execute(self._sql_select, prepare=True)
            current = _checkpoint(curs.fetchone())
            new = step(current, _PostgresChainReader(curs, self._reads))
            if new != current:
                curs.execute(self._sql_upsert, (new.position, new.hash, new.links,
                                                new.verified_at, new.broken_at, new.problem))
            return new


class _PostgresChainReader:
    """Both sides of the chain, read on the checkpoint's connection."""

    def __init__(self, curs: Cursor[DictRow], reads: dict[str, Composed]) -> None:
        self._curs = curs
        self._reads = reads

    def links_after(self, after: int, limit: int) -> Sequence[ChainLink]:
        self._curs.execute(self._reads["links"], (after, limit), prepare=True)
        return [ChainLink(r["position"], r["originator_id"], r["originator_version"],
                          r["recorded_at"], bytes(r["hash"])) for r in self._curs.fetchall()]

    def events_after(self, after: int, limit: int) -> Sequence[Notification]:
        self._curs.execute(self._reads["events"], (after, limit), prepare=True)
        return [Notification(id=r["notification_id"], originator_id=r["originator_id"],
                             originator_version=r["originator_version"], topic=r["topic"],
                             state=bytes(r["state"])) for r in self._curs.fetchall()]

    def link_at(self, position: int) -> bytes | None:
        self._curs.execute(self._reads["link_at"], (position,), prepare=True)
        row = self._curs.fetchone()
        return bytes(row["hash"]) if row else None


def _checkpoint(row: Any) -> Checkpoint:
    if row is None:
        return Checkpoint()
    return Checkpoint(row["position"], bytes(row["hash"]), row["links"], row["verified_at"],
                      row["broken_at"], row["problem"])
