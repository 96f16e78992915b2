"""Balances by business date: SPEC §3's accounts marked ≥0 never go negative — now, and on
any business date, since figures are asked by date too (`effective_on`).

An aggregate keeps, for each such account it owns, the net change of every business date
(`Movements`: ISO date → cents; one entry per date, so its size is bounded by the days
that had money, not by the events; integer cents, because an approval may read them all:
with `Money` a year of dates took 640 µs, with cents 67, and ~8 where nothing is dated
after the command, the usual case). A command that takes money out of the account on a
date checks the lowest balance from that date on (`lowest_from`): back-dating a payment
before the money it draws on was there is refused, as over-drawing it now is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from ledger.money import Money, Posting

Movements = dict[str, int]  # ISO business date → net change in cents


def record(movements: Movements, day: date, amount: Money) -> None:
    """Adds `amount` (negative: out of the account) to the change of `day`."""
    key = day.isoformat()
    movements[key] = movements.get(key, 0) + int(amount.amount * 100)


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
    if not movements or start >= max(movements):  # nothing later: the balance now
        return Money(Decimal(sum(movements.values())).scaleb(-2)), start
    balance = 0
    later = []
    for key, cents in movements.items():
        if key <= start:
            balance += cents
        else:
            later.append((key, cents))
    lowest, when = balance, start
    for key, cents in sorted(later):
        balance += cents
        if balance < lowest:
            lowest, when = balance, key
    return Money(Decimal(lowest).scaleb(-2)), when


def covered_from(movements: Movements, day: date, amount: Money) -> date:
    """The first business date on or after `day` from which the balance stays at least
    `amount` (`amount` must not exceed the balance now): the day money planned for `day`
    is there. One walk back from the last date: a date qualifies while the lowest balance
    from it on is at least `amount`, and no date before the first that fails does."""
    start = day.isoformat()
    balance = sum(cents for key, cents in movements.items() if key <= start)
    balances = [(start, balance)]
    for key in sorted(k for k in movements if k > start):
        balance += movements[key]
        balances.append((key, balance))
    wanted = int(amount.amount * 100)
    found = None
    for key, balance in reversed(balances):
        if balance < wanted:
            break
        found = key
    if found is None:
        raise ValueError(f"{amount} exceeds the balance now")  # the caller checked it
    return date.fromisoformat(found)
