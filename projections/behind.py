"""Write-behind for a bulk replay: the rows a projection only appends go out on a second
connection while the next batch is read and computed.

A replay's batch reads the log, computes its rows in Python and writes them, each step
waiting for the one before: on two cores the replaying process and its PostgreSQL
backend took turns, neither busy, and the machine was ~45 % idle (docs/benchmarks.md).
Most of what a batch writes goes into tables the projection only ever appends to and
never reads back while it projects — histories, legs, marks (`Table.appended`). In a
rebuild's bulk process (projections/parallel.py) those rows are collected per batch and
copied by a thread on a connection of its own, while the batch's transaction commits the
rest and the next batch begins; the bulk process waits for the thread before it indexes
its tables and returns.

This gives up one thing the live runner keeps: a batch's appended rows are not in the
transaction that moves its tracking position. In a rebuild's bulk that is harmless — the
new version is nobody's until the switch, a crashed rebuild's tables are dropped and
written again from the start (projections/rebuild.py), and the bulk process returns
(and the parent catches up the tail and switches) only after every row is committed.
The thread's commits skip the wait for the disk (`synchronous_commit = off`): each
batch's own commit, and the switch, flush the log past them.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Collection, Sequence
from typing import Literal

import psycopg

from projections.base import Projection
from projections.db import Params, Row, Tx, _PgTx, postgres_conninfo

DEPTH = 2  # batches of rows waiting for the thread at most (memory stays bounded)

_Job = list[tuple[str, Sequence[str], Sequence[Row]]]


def appended_tables(projection: Projection, tag: str) -> frozenset[str]:
    """The names of `projection`'s tables in version `tag` that it only appends to."""
    return frozenset(t.name(tag) for t in projection.tables if t.appended)


class WriteBehind:
    """A thread and its connection that copy the appended rows of each batch, in order,
    one transaction per batch; `deferring(tx)` collects them, `send()` hands over a
    batch's, `flush()` waits for all and raises what the thread met."""

    def __init__(self, url: str, tables: Collection[str], *, depth: int = DEPTH) -> None:
        self.tables = frozenset(tables)
        self.named = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(self.tables)))
                                + r")\b") if self.tables else None
        self._collected: _Job = []
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._conn = psycopg.connect(postgres_conninfo(url))
        try:
            self._conn.execute("SET synchronous_commit = off")
            self._conn.commit()
        except BaseException:
            self._conn.close()
            raise
        self._thread = threading.Thread(target=self._run, name="write-behind", daemon=True)
        self._thread.start()

    def deferring(self, tx: Tx) -> Tx:
        """`tx`, but rows inserted into one of `tables` are kept for `send()`."""
        return _Deferring(tx, self)

    def collect(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if rows:
            self._collected.append((table, tuple(columns), rows))

    def send(self) -> None:
        """Hands the rows collected since the last call to the thread (waiting while
        `depth` batches are still queued)."""
        job, self._collected = self._collected, []
        self._raise()
        if job:
            self._queue.put(job)

    def flush(self) -> None:
        """Waits until every batch sent is committed; raises the thread's error."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        """Stops the thread (after the batches already sent) and closes its connection."""
        self._queue.put(None)
        self._thread.join()
        self._conn.close()

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError("the write-behind thread failed") from self._error

    def _run(self) -> None:
        tx = _PgTx(self._conn)
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    with self._conn.transaction():
                        for table, columns, rows in job:
                            tx.insert_rows(table, columns, rows)
            except BaseException as exc:  # raised in the replay's thread by send/flush
                self._error = exc
            finally:
                self._queue.task_done()


class _Deferring:
    """A batch's transaction whose inserts into the appended tables are collected."""

    def __init__(self, tx: Tx, behind: WriteBehind) -> None:
        self._tx = tx
        self._behind = behind
        self.dialect: Literal["postgresql", "sqlite"] = tx.dialect

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        self._refuse(sql)
        return self._tx.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        self._refuse(sql)
        self._tx.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if table in self._behind.tables:
            self._behind.collect(table, columns, rows)
        else:
            self._tx.insert_rows(table, columns, rows)

    def upsert_rows(self, table: str, columns: Sequence[str], key: str, update: Sequence[str],
                    rows: Sequence[Row]) -> None:
        self._refuse(table)
        self._tx.upsert_rows(table, columns, key, update, rows)

    def _refuse(self, sql: str) -> None:
        """A statement naming an appended table would miss the rows still on their way."""
        named = self._behind.named
        found = named.search(sql) if named is not None else None
        if found is not None:
            raise RuntimeError(f"{found.group()} is written behind: a batch may only append "
                               "to it (Table.appended), not read or change it")


__all__ = ["DEPTH", "WriteBehind", "appended_tables"]
