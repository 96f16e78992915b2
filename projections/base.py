"""What every projection is: versioned tables, a tracking position, and a batch handler.

Tables are named `proj_{base}_{tag}`; the tag of the live version (`v1`, `v2`, ...)
is in `proj_versions`, and each (projection, tag) has its tracking position in
`proj_tracking`, written in the same transaction as the rows of a batch.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ledger.errors import ValidationFailed
from projections.db import Tx
from projections.events import LoggedEvent

CREATE_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS proj_versions (projection TEXT PRIMARY KEY, tag TEXT NOT NULL)"
)
CREATE_TRACKING = (
    "CREATE TABLE IF NOT EXISTS proj_tracking (projection TEXT NOT NULL, tag TEXT NOT NULL, "
    "position BIGINT NOT NULL, PRIMARY KEY (projection, tag))"
)
SELECT_LIVE = "SELECT projection, tag FROM proj_versions"
# Each live version and how far it has read: (projection, tag, position) in one statement;
# for one projection, a query's one round trip before its own.
SELECT_LIVE_POSITIONS = (
    "SELECT v.projection, v.tag, t.position FROM proj_versions v JOIN proj_tracking t "
    "ON t.projection = v.projection AND t.tag = v.tag"
)
SELECT_LIVE_POSITION = SELECT_LIVE_POSITIONS + " WHERE v.projection = ?"
SELECT_TRACKING = "SELECT position FROM proj_tracking WHERE projection = ? AND tag = ?"
INSERT_TRACKING = (
    "INSERT INTO proj_tracking (projection, tag, position) VALUES (?, ?, 0) "
    "ON CONFLICT (projection, tag) DO NOTHING"
)
UPDATE_TRACKING = "UPDATE proj_tracking SET position = ? WHERE projection = ? AND tag = ?"
DELETE_TRACKING = "DELETE FROM proj_tracking WHERE projection = ? AND tag = ?"
INSERT_VERSION = (
    "INSERT INTO proj_versions (projection, tag) VALUES (?, ?) ON CONFLICT (projection) DO NOTHING"
)
UPDATE_VERSION = "UPDATE proj_versions SET tag = ? WHERE projection = ?"
# The schema version each (projection, tag) was written with (`Projection.schema_version`).
# A tag written before this table existed counts as version 1 (LEGACY_SCHEMA).
LEGACY_SCHEMA = 1
CREATE_SCHEMAS = (
    "CREATE TABLE IF NOT EXISTS proj_schemas (projection TEXT NOT NULL, tag TEXT NOT NULL, "
    "version INTEGER NOT NULL, PRIMARY KEY (projection, tag))"
)
INSERT_SCHEMA = (
    "INSERT INTO proj_schemas (projection, tag, version) VALUES (?, ?, ?) "
    "ON CONFLICT (projection, tag) DO NOTHING"
)
DELETE_SCHEMA = "DELETE FROM proj_schemas WHERE projection = ? AND tag = ?"
# A projection's live tag, its position and the schema version its rows were written with.
SELECT_LIVE_SCHEMA = (
    f"SELECT v.tag, t.position, COALESCE(s.version, {LEGACY_SCHEMA}) FROM proj_versions v "
    "JOIN proj_tracking t ON t.projection = v.projection AND t.tag = v.tag "
    "LEFT JOIN proj_schemas s ON s.projection = v.projection AND s.tag = v.tag "
    "WHERE v.projection = ?"
)


Key = tuple[object, ...]


@dataclass(frozen=True)
class Table:
    """One table of a projection; `key` orders rows for comparison and is unique.

    `appended`: the projection only ever inserts rows into it and never reads it while
    projecting (histories, legs), so a rebuild's bulk may copy them behind the batch, on
    another connection (projections/behind.py)."""

    base: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = field(default=())
    appended: bool = False

    def name(self, tag: str) -> str:
        return f"proj_{self.base}_{tag}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def create(self, tx: Tx, tag: str, *, indexes: bool = True,
               unlogged: bool = False) -> None:
        """`unlogged`: on PostgreSQL a table whose rows skip the write-ahead log (and so
        replicas), emptied by a crash — for scratch tables only, such as `verify`'s."""
        name = self.name(tag)
        columns = ", ".join(f"{c} {t}" for c, t in self.columns)
        kind = "UNLOGGED TABLE" if unlogged and tx.dialect == "postgresql" else "TABLE"
        tx.execute(
            f"CREATE {kind} IF NOT EXISTS {name} ({columns}, PRIMARY KEY ({', '.join(self.key)}))"
        )
        if indexes:
            self.create_indexes(tx, tag)

    def create_indexes(self, tx: Tx, tag: str) -> None:
        """Secondary indexes; a rebuild adds them after the bulk load, which is faster."""
        for statement in self.index_statements(tag):
            tx.execute(statement)

    def index_statements(self, tag: str) -> list[str]:
        name = self.name(tag)
        return [f"CREATE INDEX IF NOT EXISTS {name}_i{n} ON {name} ({', '.join(index)})"
                for n, index in enumerate(self.indexes)]

    def drop(self, tx: Tx, tag: str) -> None:
        tx.execute(f"DROP TABLE IF EXISTS {self.name(tag)}")

    def rows(self, tx: Tx, tag: str) -> list[tuple[object, ...]]:
        return tx.execute(
            f"SELECT {', '.join(self.column_names)} FROM {self.name(tag)} "
            f"ORDER BY {', '.join(self.key)}"
        )


class Projection(Protocol):
    name: str
    tables: tuple[Table, ...]
    # Bumped when a release adds a table or changes what rows hold, so that tables written
    # by an earlier release lack rows or hold wrong ones: such a live version answers
    # what it cannot answer right with 503 `projection_outdated` until `ledger replay`
    # writes a version of the new schema. An index appended to a table's `indexes`
    # needs no bump: every start adds missing indexes to the live tables.
    schema_version: int

    def apply(self, tx: Tx, tag: str, events: Sequence[LoggedEvent]) -> None:
        """Write the rows for `events` (in position order) into the tables of `tag`."""
        ...


def encode_cursor(value: str, kind: str) -> str:
    """An opaque cursor: the key of a page's last item, named by the kind of list it pages
    (so a cursor of one list, or a made-up one, is refused by another)."""
    return base64.urlsafe_b64encode(f"{kind}|{value}".encode()).decode().rstrip("=")


def is_digits(text: str) -> bool:
    """`text` is a whole number ≥ 0 in ASCII digits: "²" is a digit to str.isdigit, and
    int() refuses it (a 500 or a traceback where a position was checked that way)."""
    return text.isascii() and text.isdigit()


def decode_cursor(cursor: str | None, kind: str) -> str | None:
    """The key in a cursor `encode_cursor` made for a list of `kind`; None for no cursor."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("cursor: not a cursor from next_cursor") from None
    named, bar, value = text.partition("|")
    # A cursor is a key this side encoded: never empty, never a control character
    # (which PostgreSQL would refuse as a DataError, not a bad cursor).
    if (not bar or named != kind or not value
            or any(ord(c) < 32 or c == "\x7f" for c in value)):
        raise ValidationFailed("cursor: not a cursor from next_cursor of this list")
    return value


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValidationFailed("limit: between 1 and 1000")
    return limit
