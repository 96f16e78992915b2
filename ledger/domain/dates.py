"""Business dates: in a window (I13) and in order (I14).

The window is the ledger's setting (Settings.earliest_business_date and
business_years_ahead); the order is each aggregate's `check_*` guard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import DateOrder, ValidationFailed


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
    """I13 for the events about to be saved, whatever date a command chose for them."""
    for aggregate in aggregates:
        for event in aggregate.pending_events:
            day = getattr(event, "effective_date", None)
            if isinstance(day, date):
                check_in_window(day, earliest, latest, what=f"date of {type(event).__name__}")


# A phase's opening window is a plan, not a fact: it may lie in any future year.
_PLANNED_DATES = frozenset({"opens_on", "closes_on"})


def business_dates_in(request: Any, name: str = "date") -> Iterator[tuple[str, date]]:
    """Every business date of a command (a dataclass, walked without copying it) or of
    a request's plain values, with its field name."""
    if isinstance(request, date):
        yield name, request
    elif dataclasses.is_dataclass(request) and not isinstance(request, type):
        for field in dataclasses.fields(request):
            if field.name not in _PLANNED_DATES:
                yield from business_dates_in(getattr(request, field.name), field.name)
    elif isinstance(request, dict):
        for key, value in request.items():
            if key not in _PLANNED_DATES:
                yield from business_dates_in(value, str(key))
    elif isinstance(request, (list, tuple)):
        for value in request:
            yield from business_dates_in(value, name)


def today() -> date:
    """Today in the server's time zone: the effective date of undated commands. (The
    local date, as `datetime.now().astimezone().date()` gives it, at a third of the cost:
    every batch of the writer asks.)"""
    return date.today()
