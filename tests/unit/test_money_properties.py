"""Property: whatever commands arrive, in whatever order, the money model holds.

Random sequences of commands (many refused) run against an in-memory ledger;
after each sequence the trial balance is zero, no ≥0 account is negative, and
every aggregate's figures equal a recomputation from the postings alone.
"""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger import Ledger, Settings, build_ledger
from ledger.errors import LedgerError
from ledger.money import Money, must_stay_non_negative
from tests.support.scenario import APPROVER, CLERK, FINANCE, funded_phase, recipients

amounts = st.integers(min_value=1, max_value=40_000).map(lambda c: Money(Decimal(c) / 100))
days = st.integers(min_value=0, max_value=420).map(
    lambda n: date.fromordinal(date(2020, 1, 1).toordinal() + n))
operations = st.lists(
    st.tuples(
        st.sampled_from([
            *["submit", "approve", "request", "pay"] * 4, "reject", "withdraw",
            "amend_award", "amend_award", "amend", "cancel", "repay", "repay", "close", "revoke",
            "direct", "close_year", "amend_budget",
        ]),
        st.integers(min_value=0, max_value=5),
        amounts,
        days,
    ),
    min_size=5, max_size=60,
)


def run(ledger: Ledger, phase_id: str, programme_id: str, rids: list[str],
        op: str, i: int, amount: Money, day: date) -> None:
    apps = [a for a in _application_ids(ledger)]
    app = apps[i % len(apps)] if apps else None
    if op == "submit":
        ledger.submit_application(CLERK, phase_id=phase_id, recipient_id=rids[i % len(rids)],
                                  requested_amount=amount, submitted_on=day)
    elif app is None:
        return
    elif op == "approve":
        ledger.approve_application(APPROVER, application_id=app, approved_amount=amount,
                                   decided_on=day)
    elif op == "reject":
        ledger.reject_application(APPROVER, application_id=app, reason="r", decided_on=day)
    elif op == "withdraw":
        ledger.withdraw_application(CLERK, application_id=app, reason="w", withdrawn_on=day)
    elif op == "amend":  # the request: undated (on its own date) or dated, by turns
        ledger.amend_application(CLERK, application_id=app, requested_amount=amount,
                                 reason="a", amended_on=day if i % 2 else None)
    elif op == "amend_award":
        ledger.amend_award(APPROVER, application_id=app, new_amount=amount, reason="a",
                           decided_on=day)
    elif op == "request":
        ledger.request_drawdown(CLERK, application_id=app, amount=amount, requested_on=day)
    elif op in ("pay", "cancel"):
        drawdowns = list(ledger.application(app).drawdowns)
        if not drawdowns:
            return
        drawdown = drawdowns[i % len(drawdowns)]
        if op == "pay":
            ledger.pay_drawdown(FINANCE, application_id=app, drawdown_id=drawdown, paid_on=day)
        else:
            ledger.cancel_drawdown(FINANCE, application_id=app, drawdown_id=drawdown, reason="c")
    elif op == "repay":
        ledger.record_repayment(FINANCE, application_id=app, amount=amount, received_on=day,
                                reason="r")
    elif op == "close":
        ledger.close_application(APPROVER, application_id=app, closed_on=day)
    elif op == "revoke":
        ledger.revoke_application(APPROVER, application_id=app, reason="v", decided_on=day)
    elif op == "direct":
        ledger.record_direct_expenditure(FINANCE, programme_id=programme_id, fiscal_year=2020,
                                         amount=amount, paid_on=day, payee="p", purpose="x")
    elif op == "close_year":
        ledger.close_fiscal_year(FINANCE, programme_id=programme_id, fiscal_year=day.year - 1
                                 if day.year > 2020 else 2020, closed_on=day)
    elif op == "amend_budget":
        ledger.amend_budget(FINANCE, programme_id=programme_id, fiscal_year=2020,
                            new_amount=amount + amount, reason="b", effective_date=day)


def _application_ids(ledger: Ledger) -> list[str]:
    return [e.application_id for e in _events(ledger) if type(e).__name__ == "Submitted"]  # type: ignore[attr-defined]


def _events(ledger: Ledger) -> list[object]:
    return [ledger.mapper.to_domain_event(n)
            for n in ledger.recorder.select_notifications(start=1, limit=100_000)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_random_commands_keep_the_books_balanced(ops: list[tuple[str, int, Money, date]]) -> None:
    ledger = build_ledger(Settings(database_url="memory://"))
    f = funded_phase(ledger, budget="3000.00", envelope="1000.00")
    rids = recipients(ledger, 3)

    for op, i, amount, day in ops:
        with contextlib.suppress(LedgerError):  # a refused command changes nothing
            run(ledger, f.phase_id, f.programme_id, rids, op, i, amount, day)

    balances: dict[str, Money] = {}
    for event in _events(ledger):
        postings = getattr(event, "postings", [])
        for p in postings:
            balances[p.source] = balances.get(p.source, Money.zero()) - p.amount
            balances[p.target] = balances.get(p.target, Money.zero()) + p.amount
    assert sum(balances.values(), Money.zero()) == Money.zero()
    for name, balance in balances.items():
        if must_stay_non_negative(name):
            assert balance >= Money.zero(), name
    phase = ledger.phase(f.phase_id)
    assert balances.get(f"phase:{f.phase_id}", Money.zero()) == phase.available
    for app_id in _application_ids(ledger):
        app = ledger.application(app_id)
        assert balances.get(f"outstanding:{app_id}", Money.zero()) == app.outstanding
        assert balances.get(f"paid:{app_id}", Money.zero()) == app.net_paid
        assert app.paid + app.pending <= app.awarded or app.status in ("closed", "revoked")
    programme = ledger.programme(f.programme_id)
    for year, budget in programme.years.items():
        assert balances.get(f"unallocated:{year}", Money.zero()) == budget.unallocated
    assert ledger.verify_chain().verified


@given(st.integers(min_value=-(10**20), max_value=10**20))
@example(0)
@example(-1)
@example(-99)
@example(-100)
@example(-101)
@example(99)
@example(100)
def test_cents_print_as_their_exact_eur_and_read_back(value: int) -> None:
    from projections.events import cents, eur

    text = eur(value)
    assert Decimal(text) == Decimal(value) / 100  # exact (well inside Decimal's 28 digits)
    assert text == f"{Decimal(value) / 100:.2f}"  # the form the API always wrote
    assert cents(text) == value
