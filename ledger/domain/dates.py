"""Business dates: in a window (I13) and in order (I14).

The window is the ledger's setting (Settings.earliest_business_date and
business_years_ahead); the order is each aggregate's `check_*` guard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import DateOrder, ValidationFailed
from ledger.money import Money


def check_not_before(day: date, earlier: date | None, *, what: str, follows: str) -> None:
    """Raises DateOrder when `day` (the `what`) lies before `earlier` (the `follows`)."""
    if earlier is not None and day < earlier:
        raise DateOrder(f"{what} {day.isoformat()} is before the {follows} "
                        f"{earlier.isoformat()}")


def years_after(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_in_window(day: date, earliest: date, latest: date, *, what: str) -> None:
    """Raises ValidationFailed for a business date outside [earliest, latest]."""
    if not earliest <= day <= latest:
        raise ValidationFailed(
            f"{what}: {day.isoformat()} is outside the business dates "
            f"{earliest.isoformat()} … {latest.isoformat()}")


def check_events_in_window(aggregates: Iterable[Aggregate], earliest: date, latest: date
                           ) -> None:
    """I13 for the events about to be saved, whatever date a command chose for them; an
    event dated by a plan (a phase's opening day, `planned`) may lie later, up to
    `planned_until` its fiscal year."""
    for aggregate in aggregates:
        for event in aggregate.pending_events:
            day = getattr(event, "effective_date", None)
            fiscal_year: int | None = getattr(event, "fiscal_year", None)
            if isinstance(day, date) and getattr(event, "planned", False) and fiscal_year:
                check_in_window(day, earliest, planned_until(fiscal_year, latest),
                                what="opens_on")
            elif isinstance(day, date):
                check_in_window(day, earliest, latest, what=f"date of {type(event).__name__}")


def planned_until(fiscal_year: int, latest: date) -> date:
    """The last day a phase of `fiscal_year` may plan to open: within the business dates,
    or up to the end of the second year after its fiscal year (a budget may name a
    future year; its phase opens then, not in any year at all)."""
    return max(latest, date(min(fiscal_year + 2, date.max.year), 12, 31))


# A phase's opening window is a plan, not a fact: it may lie in a future year.
_PLANNED_DATES = frozenset({"opens_on", "closes_on"})


def business_dates_in(request: Any, name: str = "date") -> Iterator[tuple[str, date]]:
    """Every business date of a command (a dataclass, walked without copying it) or of
    a request's plain values, with its field name, in field order. Every command asks
    before it is queued: the walk keeps each dataclass's field names and steps over the
    values that hold no date (text, numbers, amounts) without looking into them."""
    found: list[tuple[str, date]] = []
    _collect(request, name, found)
    return iter(found)


# Values that hold no date (Money is a dataclass of one Decimal).
_NO_DATES: frozenset[type] = frozenset({str, int, bool, float, type(None), Decimal, Money})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # a dataclass's fields, planned dates left out


def _collect(request: Any, name: str, found: list[tuple[str, date]]) -> None:
    kind = type(request)
    if kind in _NO_DATES:
        return
    if isinstance(request, date):
        found.append((name, request))
        return
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(request) and not isinstance(request, type):
        names = _FIELD_NAMES[kind] = tuple(
            f.name for f in dataclasses.fields(request) if f.name not in _PLANNED_DATES)
    if names is not None:
        for field_name in names:
            _collect(getattr(request, field_name), field_name, found)
    elif isinstance(request, dict):
        for key, value in request.items():
            if key not in _PLANNED_DATES:
                _collect(value, str(key), found)
    elif isinstance(request, (list, tuple)):
        for value in request:
            _collect(value, name, found)


def today() -> date:
    """Today in the server's time zone: the effective date of undated commands. (The
    local date, as `datetime.now().astimezone().date()` gives it, at a third of the cost:
    every batch of the writer asks.)"""
    return date.today()
