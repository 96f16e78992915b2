"""The store a command runs on: a command that only reads refuses a store that holds no
ledger (`require_ledger`), so a typo in LEDGER_DATABASE_URL never reads as an empty,
verified ledger; a command that creates a SQLite file and then fails removes it again
(`removed_on_failure`), so a failed `ledger demo` leaves no half-made database behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import structlog
import typer

from ledger import Settings
from ledger.persistence.sqlite import CHAIN_TABLE  # the PostgreSQL recorder's is the same
from ledger.settings import database_kind, persistence_env

log = structlog.get_logger("cli")

#: Exit status of a command that only reads, run where there is no ledger: sysexits'
#: EX_NOINPUT, not 1, which `ledger verify` answers for a ledger that fails its checks.
NO_LEDGER = 66

# What SQLite writes beside the database file (write-ahead log, shared memory, journal).
_COMPANIONS = ("", "-wal", "-shm", "-journal")


@contextmanager
def removed_on_failure(settings: Settings) -> Iterator[None]:
    """Removes the SQLite file (and its companions) if it did not exist before and the
    body fails: an exception, or a `typer.Exit` with a non-zero code.

    Close the ledger inside the body. A store that existed before is never touched;
    PostgreSQL and memory:// stores are left as they are.
    """
    database = _new_sqlite_file(settings)
    try:
        yield
    except typer.Exit as exc:
        if exc.exit_code:
            _remove(database)
        raise
    except BaseException:
        _remove(database)
        raise


def require_ledger(settings: Settings) -> None:
    """Exits with NO_LEDGER, one line on stderr, unless the configured store holds a ledger
    (its chain table); creates nothing, so call it before building the ledger.

    memory:// holds a ledger only inside the process that serves it: a command of its
    own would read an empty one made up on the spot ("chain: ok, 0 events"), so it is
    refused too.
    """
    kind = database_kind(settings.database_url)
    if kind == "memory":
        typer.echo("error: no ledger in memory:// (LEDGER_DATABASE_URL=memory://): it lives "
                   "only inside the process that serves it; a command run on its own reads "
                   "a store it can open (sqlite:///path or postgresql://…)", err=True)
        raise typer.Exit(NO_LEDGER)
    env, url = persistence_env(settings.database_url), shown_url(settings.database_url)
    problem = (_sqlite_problem(env["SQLITE_DBNAME"], url) if kind == "sqlite"
               else _postgres_problem(settings.database_url, env, url))
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(NO_LEDGER)


_CREATE = "; run ledger demo or ledger serve to create one"


def _sqlite_problem(name: str, url: str) -> str | None:
    """Why there is no ledger in the SQLite file `name`, or None when there is one."""
    where = f"no ledger at {name} (LEDGER_DATABASE_URL={url})"
    path = Path(name)
    if not path.is_file():
        return where + _CREATE
    try:
        with closing(sqlite3.connect(path)) as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (CHAIN_TABLE,)).fetchone()
    except sqlite3.DatabaseError as exc:  # e.g. "file is not a database"
        return f"{where}: {exc}"
    return None if found else f"{where}: the file has no {CHAIN_TABLE} table{_CREATE}"


def _postgres_problem(raw: str, env: dict[str, str], url: str) -> str | None:
    """Why there is no ledger in the PostgreSQL schema of `raw` (the URL; `env`, its
    settings; `url`, to print), or None when there is one."""
    import psycopg

    from projections.db import postgres_conninfo

    schema = env["POSTGRES_SCHEMA"]
    try:
        with psycopg.connect(postgres_conninfo(raw)) as conn:
            found = conn.execute(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s", (schema, CHAIN_TABLE),
            ).fetchone()
    except psycopg.OperationalError as exc:  # no such database, or no server to ask
        reason = str(exc).strip().splitlines()[0]
        return f"cannot open the ledger's database (LEDGER_DATABASE_URL={url}): {reason}"
    return None if found else (
        f"no ledger in database {env['POSTGRES_DBNAME']} (LEDGER_DATABASE_URL={url}): "
        f"schema {schema} has no {CHAIN_TABLE} table{_CREATE}")


def shown_url(url: str) -> str:
    """The URL without its password, to print (a terminal is no place for it)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _new_sqlite_file(settings: Settings) -> Path | None:
    if database_kind(settings.database_url) != "sqlite":
        return None
    path = Path(persistence_env(settings.database_url)["SQLITE_DBNAME"])
    return None if path.exists() else path


def _remove(database: Path | None) -> None:
    if database is None:
        return
    for suffix in _COMPANIONS:
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    log.info("half_made_database_removed", path=str(database))
