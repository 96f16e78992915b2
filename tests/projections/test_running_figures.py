"""Property: the running figures equal a recomputation from the legs, at every position.

Random command sequences (many refused) on SQLite and PostgreSQL, with a checkpoint
every few changes so that answers as of a past position combine a checkpoint with
the changes after it; at every position of the log the phase totals, the yearly
reconciliation and every account balance equal the slow recomputation of
tests/projections/recompute.py, every figure's drill-down sums to it, and the totals of
the lists of applications (by phase and status, taken from the phases' running counts)
equal a count of the list's rows, which equals the states listed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from ledger import Money
from ledger.errors import NotFound
from projections import ReadModelsImpl, balances, grants
from projections.figures import PHASE_FIGURES, RECONCILIATION_FIGURES
from projections.state import APPLICATION_STATUSES
from tests.projections import recompute
from tests.projections.helpers import all_pages, played
from tests.unit.test_money_properties import operations

Ops = list[tuple[str, int, Money, date]]


@pytest.fixture
def checkpoint_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grants, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(balances, "MARK_EVERY", 3)


@pytest.mark.usefixtures("checkpoint_often")
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_running_figures_equal_a_recomputation_at_every_position(
    sql_database_url: str, ops: Ops
) -> None:
    with played(sql_database_url, ops, batch_size=5) as p:
        f, positions = p.funded, p.positions
        for at in positions:
            _compare(p.read_models, f.programme_id, f.phase_id, at)
        for at in (positions[len(positions) // 2], positions[-1]):
            _drill_downs_sum_to_figures(p.read_models, f.programme_id, f.phase_id, at)


@pytest.mark.usefixtures("checkpoint_often")
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_figures_by_business_date_equal_a_recomputation(sql_database_url: str, ops: Ops) -> None:
    """effective_on alone (now) and with as_of_position (then): "what did we know at
    position n about the money of day d", for every position and a range of days."""
    with played(sql_database_url, ops, batch_size=5) as p:
        f, positions = p.funded, p.positions
        dates = sorted({date(2019, 12, 31), date(2020, 1, 1), date(2021, 12, 31),
                       *(day for *_, day in ops)})
        for n, at in enumerate(positions):
            _compare(p.read_models, f.programme_id, f.phase_id, at, on=dates[n % len(dates)])
        for on in dates:
            _compare(p.read_models, f.programme_id, f.phase_id, None, on=on)
        for n, at in enumerate((positions[len(positions) // 2], positions[-1])):
            _drill_downs_sum_to_figures(p.read_models, f.programme_id, f.phase_id, at,
                                        on=dates[(n + 1) * len(dates) // 3])
        for on in dates:  # `requested` and its cells by every day, as of two positions
            for at in (positions[len(positions) // 2], positions[-1]):
                _requested_sums_to_figure(p.read_models, f.phase_id, at, on)


def _requested_sums_to_figure(read_models: ReadModelsImpl, phase_id: str, at: int,
                              on: date) -> None:
    try:
        totals = read_models.phase_totals(phase_id, at=at, effective_on=on)
    except NotFound:
        return
    cells = {None: totals["requested"],
             **{kind: c["requested"] for kind, c in totals["by_kind"].items()}}
    for kind, value in cells.items():
        items = all_pages(read_models.phase_entries, phase_id=phase_id, figure="requested",
                          limit=2, at=at, effective_on=on, recipient_kind=kind)
        assert sum(Decimal(i["amount"]) for i in items) == Decimal(value), (at, on, kind)
        assert all(i["effective_date"] <= on.isoformat() and i["position"] <= at
                   for i in items), (at, on, kind)


def _compare(read_models: ReadModelsImpl, programme_id: str, phase_id: str, at: int | None,
             on: date | None = None) -> None:
    """Each answer first, then the recomputation in a snapshot of its own (one at a time:
    SQLite has one transaction per connection)."""
    try:
        totals: dict[str, Any] | None = read_models.phase_totals(phase_id, at=at,
                                                                 effective_on=on)
    except NotFound:
        totals = None
    years = {}
    for year in (2020, 2021):
        try:
            years[year] = read_models.reconciliation(programme_id, year, at=at, effective_on=on)
        except NotFound:
            continue
    try:
        pages = _account_pages(read_models, programme_id, at, on)
    except NotFound:
        pages = []
    lists = {}
    if on is None:  # (lists have no business date)
        for phase, status in [*((phase_id, s) for s in (None, *APPLICATION_STATUSES)),
                              (None, None), (None, "approved"), ("no-such-phase", None)]:
            lists[(phase, status)] = read_models.applications(
                phase_id=phase, status=status, at=at, limit=1)["total"]
    with read_models._state(at, on) as q:
        for (phase, status), total in lists.items():
            assert total == q.count("application", phase_id=phase, status=status), (
                at, phase, status)
        if on is None:  # a count (as of `at`: PostgreSQL's DISTINCT ON) against the states
            states = q.many("application")
            for status in (None, "approved", "closed"):
                for rid in {None, *(s["recipient_id"] for s in states)}:
                    wanted = [s for s in states if status in (None, s["status"])
                              and rid in (None, s["recipient_id"])]
                    assert q.count("application", recipient_id=rid, status=status) == len(
                        wanted), (at, rid, status)
        if totals is not None:
            assert totals == recompute.phase_totals(q, phase_id), (at, on)
        for year, answer in years.items():
            slow = recompute.year_figures(q, programme_id, year)
            assert {k: answer[k] for k in RECONCILIATION_FIGURES} == {
                k: slow[k] for k in RECONCILIATION_FIGURES}, (at, year)
            assert answer["checks"][3]["right"] == slow["of_applications"]
            assert answer["balanced"]
        if pages:
            _compare_accounts(pages, recompute.account_balances(q, programme_id), at)


def _account_pages(read_models: ReadModelsImpl, programme_id: str, at: int | None,
                   on: date | None = None) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        page = read_models.accounts(programme_id, at=at, cursor=cursor, limit=2,
                                    effective_on=on)
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def _compare_accounts(pages: list[dict[str, Any]], slow: dict[str, str], at: int) -> None:
    balances = {a["account"]: a["balance"] for p in pages for a in p["accounts"]}
    assert balances == slow, at
    by_kind: dict[str, Decimal] = {}
    for account, balance in slow.items():
        kind = account.partition(":")[0]
        by_kind[kind] = by_kind.get(kind, Decimal(0)) + Decimal(balance)
    # by business date too, the kinds of the accounts listed, at 0.00 without legs by then
    answer = {k: Decimal(v) for k, v in pages[0]["by_kind"].items()}
    assert answer == by_kind
    assert pages[0]["total"] == "0.00"


def _drill_downs_sum_to_figures(read_models: ReadModelsImpl, programme_id: str, phase_id: str,
                                at: int, on: date | None = None) -> None:
    totals = read_models.phase_totals(phase_id, at=at, effective_on=on)
    for figure in ("requested", *PHASE_FIGURES):
        items = all_pages(read_models.phase_entries, phase_id=phase_id, figure=figure, limit=2,
                          at=at, effective_on=on)
        assert sum(Decimal(i["amount"]) for i in items) == Decimal(totals[figure]), figure
        assert all(i["position"] <= at for i in items)
        assert on is None or all(i["effective_date"] <= on.isoformat() for i in items)
        if figure == "requested":  # one item per application, none of them zero
            ids = [i["application_id"] for i in items]
            assert len(ids) == len(set(ids)) and all(Decimal(i["amount"]) for i in items)
    for kind, cells in totals["by_kind"].items():  # each cell of the kinds × figures table
        for figure, value in cells.items():
            items = all_pages(read_models.phase_entries, phase_id=phase_id, figure=figure,
                              limit=2, at=at, effective_on=on, recipient_kind=kind)
            assert sum(Decimal(i["amount"]) for i in items) == Decimal(value), (kind, figure)
            assert all(i["recipient_id"] is not None for i in items)
    answer = read_models.reconciliation(programme_id, 2020, at=at, effective_on=on)
    for figure in RECONCILIATION_FIGURES:
        items = all_pages(read_models.reconciliation_entries, programme_id=programme_id,
                          fiscal_year=2020, figure=figure, limit=3, at=at, effective_on=on)
        assert sum(Decimal(i["amount"]) for i in items) == Decimal(answer[figure]), figure
        assert all(i["position"] <= at for i in items)
        assert on is None or all(i["effective_date"] <= on.isoformat() for i in items)
