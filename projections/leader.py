"""Which process runs the projections: one leader per database, the others follow.

With several `ledger serve` workers (or hosts) on one database, only the leader
runs batches; followers answer queries from the tables the leader keeps current
and poll to take over. The lock is one the holder's death releases by itself: a
PostgreSQL session advisory lock on a dedicated connection, or an exclusive
`flock` on a file beside the SQLite database. In memory there is one process.

Leadership saves work, it does not guard correctness: batches serialise on
their tracking rows, so two runners for a moment (a leader whose connection
broke and has not noticed yet) never double-count.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
import structlog

from ledger.settings import database_kind
from projections.db import postgres_conninfo

log = structlog.get_logger("projections")

# A held PostgreSQL lock is re-checked this often; a dead connection means it is gone.
CHECK_SECONDS = 1.0


class Leadership(Protocol):
    def hold(self) -> bool:
        """True while this process leads: takes the lock when it is free, else
        confirms the lock is still held. Never raises: a failure is 'not leading'."""
        ...

    def release(self) -> None:
        """Gives the lock up (if held), so a follower takes over at once."""
        ...


class Sole:
    """One process by construction (memory://, a CLI command): always the leader."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileLock:
    """An exclusive flock on `path`: the kernel releases it when the holder dies.

    flock (not lockf) locks belong to the open file, so two holders in one
    process exclude each other too.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def hold(self) -> bool:
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("projection_lock_unavailable", path=str(self.path), error=str(exc))
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another process (BlockingIOError) or unsupported
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the flock
            self._fd = None


class AdvisoryLock:
    """A PostgreSQL session advisory lock held on a connection of its own."""

    def __init__(self, conninfo: str, key: int) -> None:
        self.conninfo = conninfo
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False
        self._checked = 0.0

    def hold(self) -> bool:
        try:
            if self._held:
                if time.monotonic() - self._checked >= CHECK_SECONDS:
                    self._connection().execute("SELECT 1")
                    self._checked = time.monotonic()
                return True
            row = self._connection().execute("SELECT pg_try_advisory_lock(%s)",
                                             (self.key,)).fetchone()
            self._held = bool(row and row[0])
            self._checked = time.monotonic()
            return self._held
        except psycopg.Error as exc:
            if self._held:
                log.warning("projection_leadership_lost", error=str(exc)[:200])
            self.release()
            return False

    def release(self) -> None:
        conn, held, self._conn, self._held = self._conn, self._held, None, False
        if conn is not None:
            # Unlock first: the server ends a closed session (and its locks) only after
            # close() returns, so a follower asking at once could still find it held.
            # Closing ends the session and the lock anyway; a broken connection has
            # lost both already.
            with contextlib.suppress(psycopg.Error):
                if held:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                conn.close()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn


def leadership_for(url: str) -> Leadership:
    """The lock that elects the projection runner for the store at `url`."""
    return lock_for(url, "projections")


def lock_for(url: str, purpose: str) -> Leadership:
    """A lock per store at `url` and `purpose` ("projections": the runner's leader;
    "verify": one `ledger verify` at a time) that its holder's death releases."""
    kind = database_kind(url)
    if kind == "memory":
        return Sole()
    if kind == "sqlite":
        return FileLock(Path(unquote(url[len("sqlite:///"):]) + f".{purpose}.lock"))
    return AdvisoryLock(postgres_conninfo(url), _key_of(url, purpose))


def _key_of(url: str, purpose: str) -> int:
    """The advisory lock key of `purpose` for the PostgreSQL store at `url` (its schema's)."""
    schema = parse_qs(urlsplit(url).query).get("schema", ["public"])[0]
    return advisory_key(schema, purpose)


def advisory_key(schema: str, purpose: str = "projections") -> int:
    """A stable bigint per schema and purpose: advisory locks are per database, schemas
    share them."""
    digest = hashlib.sha256(f"program-ledger:{purpose}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# Whether a session of this database holds an advisory lock of a bigint key: pg_locks
# shows the key's high half as classid, its low half as objid, and objsubid 1.
HELD_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND objsubid = 1 AND classid::bigint = ? AND objid::bigint = ? AND database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()))"
)


def held_query(url: str, purpose: str) -> tuple[str, tuple[int, int]] | None:
    """A statement and its parameters that answer whether some session holds
    `lock_for(url, purpose)` now, without taking it (PostgreSQL's pg_locks); None for
    SQLite and memory (a file lock is known only by taking it)."""
    if database_kind(url) != "postgresql":
        return None
    key = _key_of(url, purpose) & 0xFFFF_FFFF_FFFF_FFFF  # as PostgreSQL splits it
    return HELD_SQL, (key >> 32, key & 0xFFFF_FFFF)
