"""Property: account balances by business date (projections/account_days.py), now and as
of any position, equal the sum of the account's legs effective on or before the date
(tests/projections/recompute.py), for random command sequences and random dates, on
SQLite and PostgreSQL.

The dates of the commands are drawn from a few weeks, so that many events share a
business day and a day changes after the positions it is read at (the history rows)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Money
from projections import ReadModelsImpl
from tests.projections import recompute
from tests.projections.helpers import played
from tests.unit.test_money_properties import operations

START = date(2020, 1, 1)
Ops = list[tuple[str, int, Money, date]]

# The commands' dates folded into three weeks (a refused command is skipped).
crowded = operations.map(lambda ops: [(op, i, amount, START + timedelta(days=day.toordinal() % 21))
                                      for op, i, amount, day in ops])
cut_offs = st.lists(st.integers(min_value=-1, max_value=22).map(
    lambda n: START + timedelta(days=n)), min_size=1, max_size=5)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=crowded, on_days=cut_offs, picks=st.lists(st.integers(min_value=0), max_size=4))
def test_account_balances_by_business_date_equal_the_sum_of_their_legs(
    sql_database_url: str, ops: Ops, on_days: list[date], picks: list[int]
) -> None:
    with played(sql_database_url, ops, batch_size=4) as p:
        f, positions = p.funded, p.positions
        moments: list[int | None] = [None, *(positions[pick % len(positions)] for pick in picks)]

        for at in moments:
            for on in on_days:
                answer = _balances(p.read_models, f.programme_id, at, on)
                with p.read_models._state(at, on) as q:
                    slow = recompute.account_balances(q, f.programme_id)
                assert answer == slow, (at, on)


def _balances(read_models: ReadModelsImpl, programme_id: str, at: int | None, on: date
              ) -> dict[str, str]:
    """Every page of the programme's accounts (three a page: the cursor is crossed)."""
    found: dict[str, str] = {}
    cursor = None
    while True:
        page = read_models.accounts(programme_id, cursor=cursor, limit=3, at=at,
                                    effective_on=on)
        found.update((a["account"], a["balance"]) for a in page["accounts"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found
