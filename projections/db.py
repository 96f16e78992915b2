"""The projection tables' database: PostgreSQL, a SQLite file, or in-memory SQLite.

The read side keeps its tables in the same database as the log. SQL is written
once with `?` (positional) or `:name` (named) parameters and translated for
psycopg. Money is held as integer cents (BIGINT) on both engines, so sums are
exact and identical everywhere.

Write transactions are exclusive per projection (a row lock on PostgreSQL,
`BEGIN IMMEDIATE` on SQLite); read transactions see one snapshot
(REPEATABLE READ on PostgreSQL, a WAL read transaction on SQLite). Reads of rows
that no longer change need no snapshot: `statements` runs them on their own.

Index seeks whose best plan never depends on their values (a figure or a state as of a
position: the last row at or before n of one key) run, on PostgreSQL, on connections of
their own that plan each statement once (`plan_cache_mode=force_generic_plan`): with
PostgreSQL's default they were planned anew at every call, and planning cost three times
what running them did (`statements(seeks=True)`). Called from `bridge.run` on an event
loop, those seeks are awaited there, on an async pool of the same connections
(projections/bridge.py); any other wait on the database refuses there (WouldBlock).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from ledger.persistence.postgres import SCHEMA_LOCK_KEY
from ledger.settings import database_kind
from projections import bridge

Row = tuple[Any, ...]
Params = Sequence[Any] | dict[str, Any]
_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Tx(Protocol):
    """One open transaction: what projections and queries use."""

    dialect: Literal["postgresql", "sqlite"]

    def execute(self, sql: str, params: Params = ()) -> list[Row]: ...

    def executemany(self, sql: str, rows: Sequence[Row]) -> None: ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    def upsert_rows(self, table: str, columns: Sequence[str], key: str, update: Sequence[str],
                    rows: Sequence[Row]) -> None: ...


@functools.lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """`?` and `:name` placeholders in psycopg's spelling (kept: a regex pass over a long
    query was 4 % of a busy server's time, and the same statements recur)."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%").replace("?", "%s"))


class _PgTx:
    dialect: Literal["postgresql", "sqlite"] = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        with self._conn.cursor() as cur:
            cur.execute(to_psycopg(sql), params or None)
            return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany(to_psycopg(sql), rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        types = self._column_types(table, columns)
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self._conn.cursor() as cur, cur.copy(statement) as copy:
            # Binary rows, each dumped by psycopg's C implementation for the column's type:
            # copying 100,000 legs took a third of the client's time of text rows and a
            # tenth less of the server's, which parses no numbers (a replay's largest
            # statement). Text rows were 3-4x faster than the batch's text joined in Python.
            copy.set_types(types)
            write = copy.write_row
            for row in rows:
                write(row)

    def _column_types(self, table: str, columns: Sequence[str]) -> list[str]:
        """The PostgreSQL types of `table`'s `columns` (binary COPY needs them), read from
        the catalog once per connection and table (its search path names the table)."""
        known = _column_types.setdefault(self._conn, {})
        of_table = known.get(table)
        if of_table is None:
            rows = self.execute(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
                "WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped",
                (table,))
            if not rows:
                raise LookupError(f"no table {table} to copy rows into")
            of_table = known[table] = {str(name): str(kind) for name, kind in rows}
        return [of_table[column] for column in columns]

    def upsert_rows(self, table: str, columns: Sequence[str], key: str, update: Sequence[str],
                    rows: Sequence[Row]) -> None:
        """COPY into a temporary table, then one INSERT … ON CONFLICT (much faster than
        one statement per row)."""
        if not rows:
            return
        incoming = f"incoming_{table}"
        self.execute(f"CREATE TEMP TABLE IF NOT EXISTS {incoming} "
                     f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        self.insert_rows(incoming, columns, rows)
        names = ", ".join(columns)
        sets = ", ".join(f"{c} = excluded.{c}" for c in update)
        self.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {incoming} "
                     f"ON CONFLICT ({key}) DO UPDATE SET {sets}")


# Column types of the tables a connection copies into (binary COPY), by table name.
_column_types: weakref.WeakKeyDictionary[psycopg.Connection[Any], dict[str, dict[str, str]]] = (
    weakref.WeakKeyDictionary())
# A cursor is used by one statement at a time: its connection is out of the pool meanwhile.
_seek_cursors: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any],
                                         psycopg.AsyncCursor[Any]] = weakref.WeakKeyDictionary()


class _AsyncPgTx:
    """Statements on a connection of the async seek pool, from inside `bridge.run`."""

    dialect: Literal["postgresql", "sqlite"] = "postgresql"

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        return bridge.wait(self._execute(to_psycopg(sql), params or None))

    async def _execute(self, sql: str, params: Params | None) -> list[Row]:
        # One cursor per connection, reused: a cursor's creation (its adapters' map) and
        # its description's columns were a tenth of the cost of a seek's execute.
        cur = _seek_cursors.get(self._conn)
        if cur is None or cur.closed:
            cur = _seek_cursors[self._conn] = self._conn.cursor()
        await cur.execute(sql, params)
        result = cur.pgresult
        if result is None or result.status != pq.ExecStatus.TUPLES_OK:
            return []
        return list(await cur.fetchall())

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        raise TypeError("a seek connection only reads")

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        raise TypeError("a seek connection only reads")

    def upsert_rows(self, table: str, columns: Sequence[str], key: str, update: Sequence[str],
                    rows: Sequence[Row]) -> None:
        raise TypeError("a seek connection only reads")


def joined(tx: Tx, column: str) -> str:
    """An aggregate of `column`'s texts joined by commas (NULLs left out; NULL if none):
    many rows as one, which costs the driver less (PostgreSQL `string_agg`, SQLite
    `group_concat`)."""
    function = "string_agg" if tx.dialect == "postgresql" else "group_concat"
    return f"{function}({column}, ',')"


def any_of(tx: Tx, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column` is one of `values`: one array parameter on PostgreSQL (one plan however
    many), a list of placeholders on SQLite (callers keep it under 500 values: `chunks`)."""
    if tx.dialect == "postgresql":
        return f"{column} = ANY(?)", [list(values)]
    return f"{column} IN ({', '.join('?' for _ in values)})", list(values)


def values_per_statement(tx: Tx) -> int:
    """How many values one `any_of` takes on this dialect (SQLite: one placeholder each)."""
    return 100_000 if tx.dialect == "postgresql" else 500


def chunks(tx: Tx, values: set[Any]) -> list[list[Any]]:
    """`values` in sorted pieces small enough for `any_of` on this dialect."""
    size = values_per_statement(tx)
    ordered = sorted(values)
    return [ordered[n : n + size] for n in range(0, len(ordered), size)]


class _SqliteTx:
    dialect: Literal["postgresql", "sqlite"] = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        cur = self._conn.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()]

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            self._conn.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        marks = ", ".join("?" for _ in columns)
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def upsert_rows(self, table: str, columns: Sequence[str], key: str, update: Sequence[str],
                    rows: Sequence[Row]) -> None:
        marks = ", ".join("?" for _ in columns)
        sets = ", ".join(f"{c} = excluded.{c}" for c in update)
        self.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {sets}",
            rows,
        )


# The log's recorder takes the same lock: PostgreSQL's catalogue is shared by the
# database, so every schema change of the product serialises on one key.
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext(?)::bigint)"


class Database:
    """Connections to the projections' store, chosen from LEDGER_DATABASE_URL."""

    def __init__(self, url: str) -> None:
        kind = database_kind(url)
        self.url = url
        self.dialect: Literal["postgresql", "sqlite"] = (
            "postgresql" if kind == "postgresql" else "sqlite"
        )
        self._lock = threading.RLock()
        self._local = threading.local()
        self._memory: sqlite3.Connection | None = None
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._seeks: ConnectionPool[psycopg.Connection[Any]] | None = None  # opened at need
        # The same seeks for `bridge.run`, on the event loop that first asked (at need).
        self._async_seeks: asyncio.Task[AsyncConnectionPool[Any]] | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._path = ""
        self.memory = kind == "memory"
        if kind == "memory":
            self._memory = self._sqlite(":memory:")
        elif kind == "sqlite":
            self._path = unquote(url[len("sqlite:///") :])
        else:
            self._pool = ConnectionPool(
                postgres_conninfo(url), min_size=1, max_size=8, open=True,
                kwargs={"autocommit": True},
            )

    @staticmethod
    def _sqlite(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _sqlite_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._sqlite(self._path)
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction, committed on success and rolled back on error."""
        bridge.refuse_blocking("a write transaction")
        if self._pool is not None:
            with self._pool.connection() as pg, pg.transaction():
                yield _PgTx(pg)
            return
        with self._lock:
            conn = self._memory or self._sqlite_conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def schema(self) -> Iterator[Tx]:
        """A write transaction for DDL. On PostgreSQL it first takes a transaction-level
        advisory lock: two processes starting at once (`ledger serve --workers N`, a CLI
        import beside a server) would otherwise race on `CREATE TABLE IF NOT EXISTS`
        and one would fail with "tuple concurrently updated"."""
        with self.write() as tx:
            if self.dialect == "postgresql":
                tx.execute(SCHEMA_LOCK, (SCHEMA_LOCK_KEY,))
            yield tx

    def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """One statement on its own (it sees one state by itself): one round trip on
        PostgreSQL where `read()` takes three (BEGIN, the statement, COMMIT)."""
        bridge.refuse_blocking("a statement outside the seeks")
        if self._pool is not None:
            with self._pool.connection() as pg:
                return _PgTx(pg).execute(sql, params)
        with self.read() as tx:
            return tx.execute(sql, params)

    @contextmanager
    def statements(self, *, seeks: bool = False) -> Iterator[Tx]:
        """Statements each on its own (autocommit), for reads of rows that no longer
        change: no BEGIN and COMMIT, two round trips fewer than `read()` on PostgreSQL.
        SQLite's transactions cost no round trip: there it is `read()`.

        `seeks`: every statement is an index seek or range whose plan is the same for
        any values (no filter whose selectivity decides between indexes), so on
        PostgreSQL it runs on a connection that keeps one plan per prepared statement
        instead of planning it at each call (see the module's docstring); inside
        `bridge.run`, on the async pool of such connections, awaited on the event loop."""
        if seeks and self._pool is not None and bridge.inside():
            awaited = self._async_seek_pool()
            conn = bridge.wait(awaited.getconn())
            try:
                yield _AsyncPgTx(conn)
            finally:
                bridge.wait(awaited.putconn(conn))
            return
        bridge.refuse_blocking("a statement outside the seeks")
        if self._pool is not None:
            pool = self._seek_pool() if seeks else self._pool
            with pool.connection() as pg:
                yield _PgTx(pg)
            return
        with self.read() as tx:
            yield tx

    def _seek_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        pool = self._seeks
        if pool is None:
            with self._lock:
                if self._seeks is None:
                    self._seeks = ConnectionPool(**self._seek_pool_options(), open=True)
                pool = self._seeks
        return pool

    def _async_seek_pool(self) -> AsyncConnectionPool[Any]:
        """The async seek pool of this event loop (opened by the first to ask; a second
        loop, as a test's next client starts one, is refused: WouldBlock)."""
        return bridge.wait(asyncio.shield(self._async_seeks_opening()))

    def _async_seeks_opening(self) -> asyncio.Task[AsyncConnectionPool[Any]]:
        loop = asyncio.get_running_loop()
        opening = self._async_seeks
        if opening is not None and opening.done() and (
                opening.cancelled() or opening.exception() is not None):
            opening = None  # opening failed (the database was away): try again now
        if opening is None:
            self._async_loop = loop
            opening = self._async_seeks = loop.create_task(self._open_async_seeks())
        elif self._async_loop is not loop:
            raise bridge.WouldBlock("the async seek pool belongs to another event loop")
        return opening

    async def open_seeks(self, timeout: float = 10.0) -> None:
        """Opens both seek pools now, each with its first connection (PostgreSQL): the
        threads' and this event loop's. A served app calls it before it accepts a
        connection; else the first requests would each wait for a connection to be
        made (the first answer as of a position of a new server took 11-13 ms on the
        110k bench log, against ~1 ms). Raises what opening raises (the database away)."""
        if self._pool is None:
            return
        await asyncio.to_thread(lambda: self._seek_pool().wait(timeout))
        pool = await asyncio.shield(self._async_seeks_opening())
        await pool.wait(timeout)

    async def _open_async_seeks(self) -> AsyncConnectionPool[Any]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            **self._seek_pool_options(), open=False)
        await pool.open()
        return pool

    def _seek_pool_options(self) -> dict[str, Any]:
        """The seek pools' connections (one plan per prepared statement) and sizes, the
        same for the threads' pool and the event loop's."""
        # prepare_threshold 0: a statement is prepared at its first execution on a
        # connection, not its sixth (psycopg's default), so each connection plans each
        # seek once (its generic plan) instead of up to six times
        return {"conninfo": postgres_conninfo(self.url, generic_plans=True),
                "min_size": 1, "max_size": 8,
                "kwargs": {"autocommit": True, "prepare_threshold": 0}}

    def check_pools(self) -> None:
        """Drops the pooled connections the server has closed (it restarted, or their
        backends were terminated): psycopg_pool's `check()` pings each idle connection
        and replaces the dead ones, so the next statements get live ones instead of
        failing one dead connection at a time. Never raises (the server may still be
        away: then the next statements say so)."""
        for pool in (self._pool, self._seeks):
            if pool is not None:
                with contextlib.suppress(Exception):
                    pool.check()

    async def acheck_pools(self) -> None:
        """`check_pools`, and the async seek pool of this event loop too."""
        await asyncio.to_thread(self.check_pools)
        task = self._async_seeks
        if (task is not None and task.done() and not task.cancelled()
                and task.exception() is None
                and self._async_loop is asyncio.get_running_loop()):
            with contextlib.suppress(Exception):
                await task.result().check()

    async def aclose(self) -> None:
        """Closes the async seek pool, on its event loop (the API's lifespan)."""
        task, self._async_seeks = self._async_seeks, None
        if task is not None and self._async_loop is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await (await task).close()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only snapshot: every statement inside sees the same state."""
        bridge.refuse_blocking("a snapshot")
        if self._pool is not None:
            with self._pool.connection() as pg:
                # BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY in one round trip.
                pg.isolation_level, pg.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
                try:
                    with pg.transaction():
                        yield _PgTx(pg)
                finally:
                    with contextlib.suppress(psycopg.Error):  # a broken one is discarded
                        pg.isolation_level, pg.read_only = None, None
            return
        if self._memory is not None:
            with self._lock:
                yield _SqliteTx(self._memory)
            return
        conn = self._sqlite_conn()
        conn.execute("BEGIN")
        try:
            yield _SqliteTx(conn)
        finally:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._lock:
            if self._seeks is not None:
                self._seeks.close()
                self._seeks = None
        if self._memory is not None:
            self._memory.close()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def missing_table(error: BaseException) -> bool:
    """True if `error` says a table does not exist (on either engine)."""
    return isinstance(error, pg_errors.UndefinedTable) or (
        isinstance(error, sqlite3.OperationalError) and "no such table" in str(error))


def postgres_conninfo(url: str, *, generic_plans: bool = False) -> str:
    """A libpq connection string for a postgresql:// URL, with its `schema` on the path;
    `generic_plans`: prepared statements keep one plan (see `Database.statements`)."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query).get("schema", ["public"])[0]
    return psycopg.conninfo.make_conninfo(
        host=parts.hostname or "127.0.0.1",
        port=str(parts.port or 5432),
        dbname=parts.path.lstrip("/"),
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        options=f"-c search_path={schema}"
        + (" -c plan_cache_mode=force_generic_plan" if generic_plans else ""),
        connect_timeout="5",
    )
