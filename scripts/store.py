"""A command that creates a SQLite file and then fails removes it again, so a failed
`ledger demo` or `ledger report` leaves no half-made database behind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog
import typer

from ledger import Settings
from ledger.settings import database_kind, persistence_env

log = structlog.get_logger("cli")

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
