"""Figures by business date: each scope's running base sums per effective date.

Every contribution to a scope's base sums (projections/figures.py: a leg, or the
change of an application's state) comes from one event, and an event has one
effective date. So a scope's sums split into one *day scope* per effective date, and
"the figures from entries effective on or before d" are the sum of the day scopes
up to d. Per day scope, as for a scope (projections/grants.py):

- `days`: its running sums now (one row per scope and effective date);
- `day_changes`: what each event added to it (one row per event and scope);
- `day_checkpoints`: a copy of its sums every `CHECKPOINT_EVERY` changes of it.

A question "as of position n, effective on or before d" then reads the day scopes up
to d (one index range): a day last changed at or before n as it is, a day changed
since as its checkpoint at or before n plus at most `CHECKPOINT_EVERY` changes
after it. The cost grows with the business days of one scope (a phase sees a few
hundred), never with the log. Written by the grants projection in its batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from projections import figures as fig
from projections.base import Table
from projections.db import Tx, any_of, chunks

if TYPE_CHECKING:
    from projections.state import StateQuery

DAYS = Table(
    "days",
    (("scope", "TEXT NOT NULL"), ("day", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"),
     ("pending", "INTEGER NOT NULL"), ("figures", "TEXT NOT NULL")),
    key=("scope", "day"),
)
DAY_CHANGES = Table(
    "day_changes",
    (("scope", "TEXT NOT NULL"), ("day", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"),
     ("delta", "TEXT NOT NULL")),
    key=("scope", "day", "position"),
)
DAY_CHECKPOINTS = Table(
    "day_checkpoints",
    (("scope", "TEXT NOT NULL"), ("day", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"),
     ("figures", "TEXT NOT NULL")),
    key=("scope", "day", "position"),
)
TABLES = (DAYS, DAY_CHANGES, DAY_CHECKPOINTS)

Change = tuple[str, str, int, fig.Figures]  # (scope, effective date, position, delta)


def _json(figures: fig.Figures) -> str:
    return orjson.dumps(figures, option=orjson.OPT_SORT_KEYS).decode()


class Day:
    __slots__ = ("figures", "pending", "position")

    def __init__(self, position: int = 0, pending: int = 0,
                 figures: fig.Figures | None = None) -> None:
        self.position, self.pending = position, pending
        self.figures: fig.Figures = figures if figures is not None else {}


def apply_changes(tx: Tx, tag: str, changes: list[Change], *, every: int) -> None:
    """Add each event's change of a scope to its day scope; a checkpoint every `every`."""
    if not changes:
        return
    days = _load(tx, tag, {(scope, day) for scope, day, _, _ in changes})
    rows: list[tuple[Any, ...]] = []
    checkpoints: list[tuple[Any, ...]] = []
    for scope, day, position, delta in changes:
        state = days[(scope, day)]
        for key, amount in delta.items():
            fig.add(state.figures, key, amount)
        state.position = position
        state.pending += 1
        rows.append((scope, day, position, _json(delta)))
        if state.pending >= every:
            checkpoints.append((scope, day, position, _json(state.figures)))
            state.pending = 0
    tx.insert_rows(DAY_CHANGES.name(tag), DAY_CHANGES.column_names, rows)
    tx.insert_rows(DAY_CHECKPOINTS.name(tag), DAY_CHECKPOINTS.column_names, checkpoints)
    tx.upsert_rows(DAYS.name(tag), DAYS.column_names, "scope, day",
                   ("position", "pending", "figures"),
                   [(scope, day, d.position, d.pending, _json(d.figures))
                    for (scope, day), d in days.items()])


def _load(tx: Tx, tag: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Day]:
    found = {key: Day() for key in keys}
    for scope in {scope for scope, _ in keys}:
        for chunk in chunks(tx, {day for s, day in keys if s == scope}):
            condition, params = any_of(tx, "day", chunk)
            for day, position, pending, figures in tx.execute(
                f"SELECT day, position, pending, figures FROM {DAYS.name(tag)} "
                f"WHERE scope = ? AND {condition}", [scope, *params],
            ):
                found[(scope, str(day))] = Day(int(position), int(pending),
                                               orjson.loads(figures))
    return found


def figures_on(q: StateQuery, key: str, on: str) -> fig.Figures:
    """A scope's base sums from events effective on or before `on`, as of `q.at`."""
    days, changes, marks = DAYS.name(q.tag), DAY_CHANGES.name(q.tag), DAY_CHECKPOINTS.name(q.tag)
    sql = (f"SELECT figures FROM {days} WHERE scope = :scope AND day <= :on "
           "AND position <= :at")
    if q.at < q.live:  # the days changed since: a checkpoint each and the changes after it
        sql = (f"WITH stale AS (SELECT x.day, COALESCE((SELECT MAX(k.position) FROM {marks} k "
               "WHERE k.scope = x.scope AND k.day = x.day AND k.position <= :at), 0) AS start "
               f"FROM {days} x WHERE x.scope = :scope AND x.day <= :on AND x.position > :at) "
               f"{sql} UNION ALL SELECT c.figures FROM stale s JOIN {marks} c "
               "ON c.scope = :scope AND c.day = s.day AND c.position = s.start "
               f"UNION ALL SELECT ch.delta FROM stale s JOIN {changes} ch "
               "ON ch.scope = :scope AND ch.day = s.day AND ch.position > s.start "
               "AND ch.position <= :at")
    rows = q.tx.execute(sql, {"scope": key, "on": on, "at": q.at})
    return summed(orjson.loads(text) for (text,) in rows)


def summed(parts: Iterable[fig.Figures]) -> fig.Figures:
    total: fig.Figures = {}
    for part in parts:
        for key, amount in part.items():
            total[key] = total.get(key, 0) + amount
    return total
