"""What an insider with write access to the database can do, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg

from ledger.persistence.chain import link, parse_recorded_at
from tests.conftest import PG_DSN


class Insider:
    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite:")
        if self.sqlite:
            self.path = url.removeprefix("sqlite:///")
            self.events, self.chain, self.position = "stored_events", "ledger_chain", "rowid"
        else:
            schema = parse_qs(urlsplit(url).query)["schema"][0]
            self.events = f'"{schema}".ledger_events'
            self.chain = f'"{schema}".ledger_chain'
            self.checkpoint = f'"{schema}".ledger_integrity_checkpoint'
            self.position = "notification_id"
        if self.sqlite:
            self.checkpoint = "ledger_integrity_checkpoint"

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.sqlite:
            with sqlite3.connect(self.path) as conn:
                return list(conn.execute(statement.replace("%s", "?"), params).fetchall())
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            cursor = conn.execute(statement, params)  # type: ignore[arg-type]  # test SQL built at run time, not a LiteralString
            return list(cursor.fetchall()) if cursor.description else []

    def alter_event(self, position: int) -> None:
        """Edits an event's stored row and leaves its link alone."""
        self.sql(f"UPDATE {self.events} SET topic = topic || 'x' "
                 f"WHERE {self.position} = %s", (position,))

    def positions(self) -> list[int]:
        return [int(p) for (p,) in self.sql(f"SELECT position FROM {self.chain} ORDER BY position")]

    def dodge_digest(self, position: int) -> None:
        """Deletes the event and link at `position` and re-forges every later hash, so the
        chain is consistent again: only a digest at `position` can tell."""
        self.sql(f"DELETE FROM {self.events} WHERE {self.position} = %s", (position,))
        self.sql(f"DELETE FROM {self.chain} WHERE position = %s", (position,))
        (previous,) = self.sql(f"SELECT hash FROM {self.chain} WHERE position < %s "
                               "ORDER BY position DESC LIMIT 1", (position,))[0]
        previous = bytes(previous)
        rows = self.sql(
            f"SELECT c.position, c.recorded_at, e.originator_id, e.originator_version, e.topic, "
            f"e.state FROM {self.chain} c JOIN {self.events} e ON e.{self.position} = c.position "
            "WHERE c.position > %s ORDER BY c.position", (position,))
        for at, recorded_at, originator_id, version, topic, state in rows:
            previous = link(
                previous, position=at,
                recorded_at=parse_recorded_at(recorded_at) if self.sqlite else recorded_at,
                originator_id=UUID(str(originator_id)), originator_version=version,
                topic=topic, state=bytes(state))
            self.sql(f"UPDATE {self.chain} SET hash = %s WHERE position = %s", (previous, at))

    def change_snapshots(self, change: Callable[[dict[str, Any]], bool]) -> int:
        """Applies `change` to the aggregate state of every stored snapshot (outside the
        chain), writing back those it changed (it answers True); answers how many."""
        table = ("stored_snapshots" if self.sqlite
                 else self.events.replace("ledger_events", "ledger_snapshots"))
        changed = 0
        for originator_id, version, state in self.sql(
                f"SELECT originator_id, originator_version, state FROM {table}"):
            document = json.loads(bytes(state))
            if change(document.get("state", {})):
                self.sql(f"UPDATE {table} SET state = %s WHERE originator_id = %s AND "
                         "originator_version = %s",
                         (json.dumps(document).encode(), originator_id, version))
                changed += 1
        return changed

    def drop_from_snapshots(self, key: str) -> int:
        """Removes `key` from the aggregate state of every stored snapshot, as a snapshot
        an earlier release took (before the aggregate had it) holds it; answers how many
        snapshots held it."""
        return self.change_snapshots(lambda state: state.pop(key, None) is not None)

    def edit_snapshots(self, old: str, new: str) -> int:
        """Replaces `old` by `new` in the JSON of every stored snapshot (outside the chain);
        answers how many snapshots there are."""
        if self.sqlite:
            table = "stored_snapshots"
            edit = "CAST(replace(CAST(state AS TEXT), %s, %s) AS BLOB)"
        else:
            table = self.events.replace("ledger_events", "ledger_snapshots")
            edit = "convert_to(replace(convert_from(state, 'UTF8'), %s, %s), 'UTF8')"
        self.sql(f"UPDATE {table} SET state = {edit}", (old, new))
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])
