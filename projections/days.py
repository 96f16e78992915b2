"""Figures by business date: each scope's running base sums per effective date.

Every contribution to a scope's base sums (projections/figures.py: a leg, or the
change of an application's state) comes from one event, and an event has one
effective date. So a scope's sums split into one *day* per effective date, and "the
figures from entries effective on or before d" are the sum of the scope's days up
to d. Per day:

- `days`: its running sums now (one row per scope and effective date);
- `day_history`: its sums after each event that changed it (one row per event and
  scope); a day holds only the few keys its events touched, so the row is small.

A question "as of position n, effective on or before d" then reads the scope's days up
to d (one index range): a day last changed at or before n as it is, a day changed since
as its `day_history` row at or before n (one index seek each). The cost grows with the
business days of one scope (a phase sees a few hundred), never with the log. Written by
the grants projection in its batch.
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
     ("figures", "TEXT NOT NULL")),
    key=("scope", "day"),
)
DAY_HISTORY = Table(
    "day_history",
    (("scope", "TEXT NOT NULL"), ("day", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"),
     ("figures", "TEXT NOT NULL")),
    key=("scope", "day", "position"),
)
TABLES = (DAYS, DAY_HISTORY)

Change = tuple[str, str, int, fig.Figures]  # (scope, effective date, position, delta)


def _json(figures: fig.Figures) -> str:
    return orjson.dumps(figures, option=orjson.OPT_SORT_KEYS).decode()


class Day:
    __slots__ = ("figures", "position")

    def __init__(self, position: int = 0, figures: fig.Figures | None = None) -> None:
        self.position = position
        self.figures: fig.Figures = figures if figures is not None else {}


def apply_changes(tx: Tx, tag: str, changes: list[Change]) -> None:
    """Add each event's change of a scope to its day, and keep the day's sums after it."""
    if not changes:
        return
    days = _load(tx, tag, {(scope, day) for scope, day, _, _ in changes})
    history: list[tuple[Any, ...]] = []
    for scope, day, position, delta in changes:
        state = days[(scope, day)]
        for key, amount in delta.items():
            fig.add(state.figures, key, amount)
        state.position = position
        history.append((scope, day, position, _json(state.figures)))
    tx.insert_rows(DAY_HISTORY.name(tag), DAY_HISTORY.column_names, history)
    tx.upsert_rows(DAYS.name(tag), DAYS.column_names, "scope, day", ("position", "figures"),
                   [(scope, day, d.position, _json(d.figures))
                    for (scope, day), d in days.items()])


def _load(tx: Tx, tag: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Day]:
    found = {key: Day() for key in keys}
    for scope in {scope for scope, _ in keys}:
        for chunk in chunks(tx, {day for s, day in keys if s == scope}):
            condition, params = any_of(tx, "day", chunk)
            for day, position, figures in tx.execute(
                f"SELECT day, position, figures FROM {DAYS.name(tag)} "
                f"WHERE scope = ? AND {condition}", [scope, *params],
            ):
                found[(scope, str(day))] = Day(int(position), orjson.loads(figures))
    return found


def figures_on(q: StateQuery, key: str, on: str) -> fig.Figures:
    """A scope's base sums from events effective on or before `on`, as of `q.at`."""
    days, history = DAYS.name(q.tag), DAY_HISTORY.name(q.tag)
    figures = "x.figures"
    if q.at < q.live:  # a day changed since: its sums after its last change at or before `at`
        figures = (f"CASE WHEN x.position <= :at THEN x.figures ELSE (SELECT h.figures FROM "
                   f"{history} h WHERE h.scope = x.scope AND h.day = x.day AND h.position <= :at "
                   "ORDER BY h.position DESC LIMIT 1) END")
    rows = q.tx.execute(f"SELECT {figures} FROM {days} x WHERE x.scope = :scope "
                        "AND x.day <= :on", {"scope": key, "on": on, "at": q.at})
    return summed(orjson.loads(text) for (text,) in rows if text is not None)


def summed(parts: Iterable[fig.Figures]) -> fig.Figures:
    total: fig.Figures = {}
    for part in parts:
        for key, amount in part.items():
            total[key] = total.get(key, 0) + amount
    return total
