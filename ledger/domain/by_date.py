"""Balances by business date: SPEC §3's accounts marked ≥0 never go negative — now, and on
any business date, since figures are asked by date too (`effective_on`).

An aggregate keeps, for each such account it owns, the net change of every business date
(`Movements`: ISO date → amount; one entry per date, so its size is bounded by the days
that had money, not by the events). A command that takes money out of the account on a
date checks the lowest balance from that date on (`lowest_from`): back-dating a payment
before the money it draws on was there is refused, as over-drawing it now is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.money import Money, Posting

Movements = dict[str, Money]


def record(movements: Movements, day: date, amount: Money) -> None:
    """Adds `amount` (negative: out of the account) to the change of `day`."""
    key = day.isoformat()
    movements[key] = movements.get(key, Money.zero()) + amount


def record_postings(accounts: dict[str, Movements], day: date,
                    postings: Iterable[Posting]) -> None:
    """Each posting's change to every account of `accounts` it names, on `day`."""
    for posting in postings:
        if posting.target in accounts:
            record(accounts[posting.target], day, posting.amount)
        if posting.source in accounts:
            record(accounts[posting.source], day, -posting.amount)


def lowest_from(movements: Movements, day: date) -> tuple[Money, str]:
    """The lowest balance on `day` or any later business date, and the first date it is
    reached (ISO)."""
    start = day.isoformat()
    balance = Money.zero()
    later = []
    for key, amount in movements.items():
        if key <= start:
            balance = balance + amount
        else:
            later.append((key, amount))
    lowest, when = balance, start
    for key, amount in sorted(later):
        balance = balance + amount
        if balance < lowest:
            lowest, when = balance, key
    return lowest, when
