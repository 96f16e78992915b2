"""Balances by business date (ledger/domain/by_date.py), against a brute-force walk."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.domain import by_date
from ledger.money import Money

START = date(2020, 1, 1)
movements_st = st.dictionaries(
    st.integers(0, 60).map(lambda n: (START + timedelta(days=n)).isoformat()),
    st.integers(-5_000, 10_000), max_size=12)


def balance_on(movements: by_date.Movements, day: date) -> int:
    return sum(cents for key, cents in movements.items() if key <= day.isoformat())


def stays_above(movements: by_date.Movements, day: date, cents: int) -> bool:
    days = [day, *(date.fromisoformat(k) for k in movements if k > day.isoformat())]
    return all(balance_on(movements, d) >= cents for d in days)


@given(movements_st, st.integers(0, 60), st.integers(0, 10_000))
def test_money_planned_for_a_day_is_taken_on_the_first_day_it_stays_there(
        movements: by_date.Movements, offset: int, cents: int) -> None:
    day = START + timedelta(days=offset)
    now = sum(movements.values())
    assume(now >= 0)  # the caller's check: the amount is there now
    amount = Money(Decimal(min(cents, now)).scaleb(-2))
    wanted = int(amount.amount * 100)

    funded_on = by_date.covered_from(movements, day, amount)

    assert funded_on >= day
    assert stays_above(movements, funded_on, wanted)
    earlier = [d for d in (day, *(date.fromisoformat(k) for k in movements))
               if day <= d < funded_on]
    assert not any(stays_above(movements, d, wanted) for d in earlier)
