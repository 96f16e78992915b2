"""Figures by business date: each scope's running base sums per effective date.

Every contribution to a scope's base sums (projections/figures.py: a leg, or the
change of an application's state) comes from one event, and an event has one
effective date. So a scope's sums split into one *day* per effective date, and "the
figures from entries effective on or before d" are the sum of the scope's days up
to d. Per day:

- `days`: its running sums now (one row per scope and effective date);
- `day_history`: its sums after each event that changed it (one row per event and
  scope); a day holds only the few keys its events touched, so the row is small.

The same sums are kept per calendar month (`months`, `month_history`: a month is the
sum of its days). A question "as of position n, effective on or before d" then reads
the scope's months before d's month and its days of d's month up to d (two index
ranges): a period last changed at or before n as it is, one changed since as its
history row at or before n (one index seek each). The cost is bounded by the calendar
— the months of a scope's business (a ten-year programme: at most 120) plus 31 days —
never by the log, nor by the business days (a programme's thousand and more). Versions
written before `months` (grants schema < 4) read their days alone. Written by the
grants projection in its batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from projections import figures as fig
from projections.base import Table
from projections.db import Tx, any_of, chunks

if TYPE_CHECKING:
    from projections.state import StateQuery

DATED_SCHEMA = 2  # the grants schema from which `days` hold the whole log
MONTHS_SCHEMA = 4  # … and `months` too

Change = tuple[str, str, int, fig.Figures]  # (scope, effective date, position, delta)


@dataclass(frozen=True)
class Period:
    """Days or months: the tables of one length of period, and how a date names it."""

    current: Table  # each scope's sums per period now
    history: Table  # … after each event that changed them
    column: str
    width: int  # the leading characters of an ISO date that name the period

    @classmethod
    def of(cls, current: str, history: str, column: str, width: int) -> Period:
        columns = (("scope", "TEXT NOT NULL"), (column, "TEXT NOT NULL"),
                   ("position", "BIGINT NOT NULL"), ("figures", "TEXT NOT NULL"))
        return cls(Table(current, columns, key=("scope", column)),
                   Table(history, columns, key=("scope", column, "position"), appended=True),
                   column, width)

    def name(self, day: str) -> str:
        return day[: self.width]


DAY = Period.of("days", "day_history", "day", 10)
MONTH = Period.of("months", "month_history", "month", 7)
TABLES = (DAY.current, DAY.history, MONTH.current, MONTH.history)


def _json(figures: fig.Figures) -> str:
    return orjson.dumps(figures, option=orjson.OPT_SORT_KEYS).decode()


class Day:
    __slots__ = ("figures", "position")

    def __init__(self, position: int = 0, figures: fig.Figures | None = None) -> None:
        self.position = position
        self.figures: fig.Figures = figures if figures is not None else {}


def apply_changes(tx: Tx, tag: str, changes: list[Change]) -> None:
    """Add each event's change of a scope to its day and its month, and keep each
    period's sums after it."""
    if not changes:
        return
    for period in (DAY, MONTH):
        _apply(tx, tag, period, [(scope, period.name(day), position, delta)
                                 for scope, day, position, delta in changes])


def _apply(tx: Tx, tag: str, period: Period, changes: list[Change]) -> None:
    found = _load(tx, tag, period, {(scope, name) for scope, name, _, _ in changes})
    history: list[tuple[Any, ...]] = []
    for scope, name, position, delta in changes:
        state = found[(scope, name)]
        for key, amount in delta.items():
            fig.add(state.figures, key, amount)
        state.position = position
        history.append((scope, name, position, _json(state.figures)))
    table = period.current
    tx.insert_rows(period.history.name(tag), period.history.column_names, history)
    tx.upsert_rows(table.name(tag), table.column_names, f"scope, {period.column}",
                   ("position", "figures"),
                   [(scope, name, d.position, _json(d.figures))
                    for (scope, name), d in found.items()])


def _load(tx: Tx, tag: str, period: Period, keys: set[tuple[str, str]]
          ) -> dict[tuple[str, str], Day]:
    found = {key: Day() for key in keys}
    column = period.column
    for scope in {scope for scope, _ in keys}:
        for chunk in chunks(tx, {name for s, name in keys if s == scope}):
            condition, params = any_of(tx, column, chunk)
            for name, position, figures in tx.execute(
                f"SELECT {column}, position, figures FROM {period.current.name(tag)} "
                f"WHERE scope = ? AND {condition}", [scope, *params],
            ):
                found[(scope, str(name))] = Day(int(position), orjson.loads(figures))
    return found


def periods_sql(q: StateQuery, key: str, on: str) -> tuple[str, dict[str, Any]]:
    """A statement for a scope's base sums from events effective on or before `on`, as of
    `q.at` — its months before `on`'s and its days of that month up to `on`, one column
    (a period's sums, or NULL; `summed_texts` adds them up) — and its named parameters
    (`:scope`, `:on`, `:at`, `:month`, `:first`): callers ask more in the same statement
    (projections/totals.py, a scope's state with it)."""
    past = q.at < q.live
    params = {"scope": key, "on": on, "at": q.at, "month": MONTH.name(on),
              "first": f"{MONTH.name(on)}-01"}
    if q.schema < MONTHS_SCHEMA:  # a version without `months`: every day up to `on`
        return f"{_sums(q.tag, DAY, past)} AND x.day <= :on", params
    return (f"{_sums(q.tag, MONTH, past)} AND x.month < :month UNION ALL "
            f"{_sums(q.tag, DAY, past)} AND x.day >= :first AND x.day <= :on"), params


def summed_texts(texts: Iterable[str | None]) -> fig.Figures:
    """The sums of JSON texts of sums (the periods that `periods_sql` read, a checkpoint
    and its changes), each of one object or of several joined by commas (`db.joined`),
    NULLs left out — parsed as one JSON array."""
    parts = [text for text in texts if text is not None]
    return summed(orjson.loads(f"[{','.join(parts)}]")) if parts else {}


def _sums(tag: str, period: Period, past: bool) -> str:
    """The start of a statement for a scope's periods' sums as of `:at` (`past`: before
    the version's position, so a period changed since reads its history row)."""
    figures = "x.figures"
    if past:  # changed since: its sums after its last change at or before `at`
        column = period.column
        figures = (f"CASE WHEN x.position <= :at THEN x.figures ELSE (SELECT h.figures FROM "
                   f"{period.history.name(tag)} h WHERE h.scope = x.scope "
                   f"AND h.{column} = x.{column} AND h.position <= :at "
                   "ORDER BY h.position DESC LIMIT 1) END")
    return (f"SELECT {figures} AS figures FROM {period.current.name(tag)} x "
            "WHERE x.scope = :scope")


def summed(parts: Iterable[fig.Figures]) -> fig.Figures:
    total: fig.Figures = {}
    get = total.get
    for part in parts:
        for key, amount in part.items():
            total[key] = get(key, 0) + amount
    return total
