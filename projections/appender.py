"""A rebuild's appended rows written on a connection of their own, while the next batch is
computed.

A batch of a rebuild is computed in Python and then written; on PostgreSQL the two took
turns: during the grants projection's replay of a 200k-event log the Python process ran
its batches for ~13 s and PostgreSQL worked on their rows for ~8 s, one after the other,
on a machine with two cores. Most of those rows go to *appended* tables (base.Table:
histories and legs, which batches append to and never read), so they need not be written
before the next batch starts: the batch's transaction writes what the next batch reads
(the current tables, the tracking position) and hands the appended rows to an `Appender`,
whose thread copies them in a transaction of its own while the next batch is computed.

Only a rebuild's bulk uses it (projections/rebuild.py, projections/parallel.py), on
PostgreSQL (SQLite has one writer at a time): its new version is read by nobody until it
is switched to, and the rebuild drains the appender (`drain`, which raises what failed)
before it indexes the tables and switches. A version's tracking position may run a batch
or two ahead of its appended rows meanwhile; a rebuild that fails there is never switched
to and the next one starts from scratch (dropping it), as before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

from projections.base import Projection
from projections.db import Database, Params, Row, Tx

Rows = list[tuple[str, tuple[str, ...], Sequence[Row]]]  # (table, columns, rows)


class Appender:
    """Writes batches of appended rows in order, each in one transaction, at most `depth`
    batches behind the caller (which waits in `put` beyond that: memory stays bounded)."""

    def __init__(self, db: Database, *, depth: int = 1) -> None:
        self._db = db
        self._queue: queue.Queue[Rows | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="projections-appender")
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self._error is None:
                    with self._db.write() as tx:
                        for table, columns, rows in batch:
                            tx.insert_rows(table, columns, rows)
            except BaseException as exc:  # handed to the caller at its next put or drain
                self._error = exc
            finally:
                self._queue.task_done()

    def _check(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"writing appended rows failed: {self._error}") from self._error

    def put(self, batch: Rows) -> None:
        """Queues one batch's rows (nothing to write: nothing queued); raises what a batch
        before failed with."""
        self._check()
        if batch:
            self._queue.put(batch)

    def drain(self) -> None:
        """Waits until every queued batch is written; raises what failed."""
        self._queue.join()
        self._check()

    def close(self) -> None:
        """Stops the thread after what is queued (idempotent); does not raise."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def __enter__(self) -> Appender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def appended_tables(projections: dict[str, Projection], tags: dict[str, str]) -> set[str]:
    """The names of the appended tables of `tags` (projection → tag)."""
    return {table.name(tag) for name, tag in tags.items()
            for table in projections[name].tables if table.appended}


class Collecting:
    """A batch's transaction whose rows for the tables in `appended` are collected
    (`rows`) instead of written; everything else goes to `tx`."""

    def __init__(self, tx: Tx, appended: set[str]) -> None:
        self._tx = tx
        self._appended = appended
        self.dialect = tx.dialect
        self.rows: Rows = []

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        return self._tx.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        self._tx.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if table not in self._appended:
            self._tx.insert_rows(table, columns, rows)
        elif rows:
            self.rows.append((table, tuple(columns), rows))

    def upsert_rows(self, table: str, columns: Sequence[str], key: str, update: Sequence[str],
                    rows: Sequence[Row]) -> None:
        if table in self._appended:
            raise TypeError(f"{table} is appended to, never updated")
        self._tx.upsert_rows(table, columns, key, update, rows)
