"""Failing projections, recorded where every worker reads them: the `proj_status` table.

The leader writes a row when a projection starts failing (or fails differently)
and deletes it when the projection recovers; it logs each change once, never
once per retry. Every worker's GET /health reads the rows beside the tracking
positions, so all workers report the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from projections.db import Database, Tx

log = structlog.get_logger("projections")

CREATE_STATUS = (
    "CREATE TABLE IF NOT EXISTS proj_status (projection TEXT PRIMARY KEY, "
    "error TEXT NOT NULL, since TEXT NOT NULL)"
)
SELECT_STATUS = "SELECT projection, error, since FROM proj_status"
UPSERT_STATUS = (
    "INSERT INTO proj_status (projection, error, since) VALUES (?, ?, ?) "
    "ON CONFLICT (projection) DO UPDATE SET error = excluded.error"
)
DELETE_STATUS = "DELETE FROM proj_status WHERE projection = ?"
# Every live projection's position and failure in one statement (GET /health's query).
SELECT_LIVE_STATUS = (
    "SELECT v.projection, t.position, s.error, s.since FROM proj_versions v "
    "JOIN proj_tracking t ON t.projection = v.projection AND t.tag = v.tag "
    "LEFT JOIN proj_status s ON s.projection = v.projection"
)
MAX_ERROR = 500


def ensure_status_table(db: Database) -> None:
    with db.schema() as tx:
        tx.execute(CREATE_STATUS)


def failures(tx: Tx) -> dict[str, tuple[str, str]]:
    """Each failing projection's (error, failing since as ISO time)."""
    return {str(name): (str(error), str(since)) for name, error, since in tx.execute(SELECT_STATUS)}


def live_status(tx: Tx) -> dict[str, dict[str, Any]]:
    """By projection: position, error and failing_since (None while it is well)."""
    return {str(name): {"position": int(position), "error": error, "failing_since": since}
            for name, position, error, since in tx.execute(SELECT_LIVE_STATUS)}


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


class FailureRecord:
    """The leader's view of which projections fail, kept in step with `proj_status`."""

    def __init__(self, db: Database, positions: Callable[[], dict[str, int]]) -> None:
        self.db = db
        self.positions = positions
        self.log: Any = log  # tests swap in a recorder to count the lines
        self._known: dict[str, str] | None = None  # None: read the table first
        self._unrecorded = False

    def forget(self) -> None:
        """Re-read the table before the next change (another leader may have written it)."""
        self._known = None

    def update(self, failing: dict[str, Exception]) -> None:
        """Records `failing` ({projection: its error}; empty when all are well).

        Touches the database only on a change (and once at first, to pick up what
        a previous leader recorded); logs each new failure once, with its traceback.
        When the database itself is away, says so once and tries again next time.
        """
        try:
            self._update(failing)
        except Exception as exc:  # the store is away: /health says so from its side
            self._known = None
            if not self._unrecorded:
                self.log.error("projection_status_unrecorded", error=describe(exc))
            self._unrecorded = True
        else:
            self._unrecorded = False

    def _update(self, failing: dict[str, Exception]) -> None:
        if self._known is None:
            ensure_status_table(self.db)
            with self.db.read() as tx:
                self._known = {name: error for name, (error, _) in failures(tx).items()}
        errors = {name: describe(exc) for name, exc in failing.items()}
        known = self._known
        if errors == known:
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.db.write() as tx:
            for name, error in errors.items():
                if known.get(name) != error:
                    tx.execute(UPSERT_STATUS, (name, error, now))
            for name in set(known) - set(errors):
                tx.execute(DELETE_STATUS, (name,))
        positions = self.positions()
        for name, error in sorted(errors.items()):
            if known.get(name) != error:
                self.log.error("projection_failed", projection=name,
                               position=positions.get(name), error=error,
                               exc_info=failing[name])
        for name in sorted(set(known) - set(errors)):
            self.log.info("projection_recovered", projection=name, position=positions.get(name))
        self._known = errors
