"""The whole lifecycle and every refusal, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from ledger import Ledger, NewRecipient
from ledger.errors import (
    AlreadyExists,
    BelowPaid,
    BudgetExceeded,
    DateOrder,
    DuplicateApplication,
    FiscalYearClosed,
    FourEyes,
    IdempotencyMismatch,
    InvalidState,
    NotEligible,
    NotFound,
    OverDrawdown,
    OverRepayment,
    ValidationFailed,
)
from ledger.money import Money
from tests.support.scenario import (
    ADMIN,
    APPROVER,
    CLERK,
    CLERK_2,
    FINANCE,
    FINANCE_2,
    actor,
    approved,
    funded_phase,
    money,
    recipients,
)


def balances(ledger: Ledger) -> dict[str, Money]:
    """Every account's balance, recomputed from the postings in the log."""
    result: dict[str, Money] = {}
    for event in _events(ledger):
        for posting in getattr(event, "postings", []):
            result[posting.source] = result.get(posting.source, Money.zero()) - posting.amount
            result[posting.target] = result.get(posting.target, Money.zero()) + posting.amount
    return result


def _events(ledger: Ledger) -> list[object]:
    notifications = ledger.recorder.select_notifications(start=1, limit=100000)
    return [ledger.mapper.to_domain_event(n) for n in notifications]


def test_grant_lifecycle_posts_balanced_entries(ledger: Ledger) -> None:
    f = funded_phase(ledger, budget="1000.00", envelope="800.00")
    (rid,) = recipients(ledger, 1)
    app_id = ledger.submit_application(
        CLERK, phase_id=f.phase_id, recipient_id=rid, requested_amount=money("500.00"),
        submitted_on=date(2020, 2, 1),
        measures=[{"category": "website", "description": "new site", "amount": "500.00"}],
    ).ids["application_id"]
    ledger.amend_application(CLERK, application_id=app_id, requested_amount=money("450.00"),
                             reason="smaller scope")
    ledger.approve_application(APPROVER, application_id=app_id,
                               approved_amount=money("400.00"), decided_on=date(2020, 3, 1))
    ledger.amend_award(APPROVER, application_id=app_id, new_amount=money("420.00"),
                       reason="correction", decided_on=date(2020, 3, 2))
    d1 = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("300.00"),
                                 requested_on=date(2020, 4, 1)).ids["drawdown_id"]
    ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id=d1, paid_on=date(2020, 4, 2))
    d2 = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("50.00"),
                                 requested_on=date(2020, 5, 1)).ids["drawdown_id"]
    ledger.cancel_drawdown(FINANCE, application_id=app_id, drawdown_id=d2, reason="duplicate")
    ledger.record_repayment(FINANCE, application_id=app_id, amount=money("20.00"),
                            received_on=date(2020, 9, 1), reason="unspent")
    ledger.submit_proof_of_use(CLERK, application_id=app_id, spent_amount=money("280.00"),
                               submitted_on=date(2020, 10, 1))
    result = ledger.close_application(APPROVER, application_id=app_id, closed_on=date(2020, 11, 1))
    ledger.record_direct_expenditure(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                                     amount=money("100.00"), paid_on=date(2020, 6, 1),
                                     payee="Vendor", purpose="licence")
    ledger.close_fiscal_year(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                             closed_on=date(2021, 1, 15), carry_over=money("60.00"))

    app = ledger.application(app_id)
    assert (app.status, app.awarded, app.paid, app.repaid) == (
        "closed", money("420.00"), money("300.00"), money("20.00"))
    assert app.released == money("120.00")
    assert ledger.phase(f.phase_id).available == money("500.00")
    b = balances(ledger)
    assert sum((v for v in b.values()), Money.zero()) == Money.zero()
    assert b[f"phase:{f.phase_id}"] == money("500.00")
    assert b[f"outstanding:{app_id}"] == Money.zero()
    assert b[f"paid:{app_id}"] == money("280.00")
    assert b["unallocated:2020"] == Money.zero()
    assert b["lapsed:2020"] == money("40.00")
    assert b["unallocated:2021"] == money("60.00")
    assert b["direct:2020"] == money("100.00")
    assert b["repaid:2020"] == money("20.00")
    assert result.position < ledger.head()[0]
    assert ledger.verify_chain().verified


def test_every_event_carries_metadata(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    approved(ledger, f, rid, "100.00")

    for event in _events(ledger):
        assert event.actor and event.role and event.correlation_id  # type: ignore[attr-defined]
        assert isinstance(event.effective_date, date)  # type: ignore[attr-defined]


def test_refuses_budget_beyond_the_year(ledger: Ledger) -> None:
    f = funded_phase(ledger, budget="1000.00", envelope="800.00")
    before = ledger.head()

    with pytest.raises(BudgetExceeded):
        ledger.open_phase(ADMIN, programme_id=f.programme_id, phase_id=f"{f.phase_id}-b",
                          name="P2", fiscal_year=2020, envelope=money("200.01"),
                          opens_on=date(2020, 1, 1), closes_on=date(2020, 6, 30),
                          eligible_kinds=["gemeinde"])
    with pytest.raises(BudgetExceeded):
        ledger.record_direct_expenditure(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                                         amount=money("200.01"), paid_on=date(2020, 2, 1),
                                         payee="x", purpose="y")
    with pytest.raises(BudgetExceeded):
        ledger.amend_budget(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                            new_amount=money("799.99"), reason="cut",
                            effective_date=date(2020, 5, 1))
    assert ledger.head() == before


def test_refuses_awards_beyond_the_envelope(ledger: Ledger) -> None:
    f = funded_phase(ledger, budget="1000.00", envelope="300.00")
    a, b = recipients(ledger, 2)
    first = approved(ledger, f, a, "200.00")
    second = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=b,
                                       requested_amount=money("150.00"),
                                       submitted_on=date(2020, 2, 1)).ids["application_id"]
    before = ledger.head()

    with pytest.raises(BudgetExceeded):
        ledger.approve_application(APPROVER, application_id=second,
                                   approved_amount=money("100.01"), decided_on=date(2020, 3, 1))
    with pytest.raises(BudgetExceeded):
        ledger.amend_award(APPROVER, application_id=first, new_amount=money("300.01"),
                           reason="more", decided_on=date(2020, 3, 1))
    assert ledger.head() == before


def test_refuses_a_second_open_application(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    first = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                      requested_amount=money("10.00"),
                                      submitted_on=date(2020, 2, 1)).ids["application_id"]

    with pytest.raises(DuplicateApplication):
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                  requested_amount=money("10.00"), submitted_on=date(2020, 2, 2))
    ledger.withdraw_application(CLERK, application_id=first, reason="mistake",
                                withdrawn_on=date(2020, 2, 3))
    again = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                      requested_amount=money("10.00"),
                                      submitted_on=date(2020, 2, 4))
    assert again.ids["application_id"] != first


def test_allows_more_open_applications_where_the_phase_does(ledger: Ledger) -> None:
    f = funded_phase(ledger, max_open=2)
    (rid,) = recipients(ledger, 1)
    for _ in range(2):
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                  requested_amount=money("10.00"), submitted_on=date(2020, 2, 1))

    with pytest.raises(DuplicateApplication):
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                  requested_amount=money("10.00"), submitted_on=date(2020, 2, 1))


def test_refuses_ineligible_kinds_and_dates(ledger: Ledger) -> None:
    f = funded_phase(ledger, kinds=("gemeinde",))
    (landkreis,) = recipients(ledger, 1, kind="landkreis")
    (gemeinde,) = recipients(ledger, 1)

    with pytest.raises(NotEligible):
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=landkreis,
                                  requested_amount=money("10.00"), submitted_on=date(2020, 2, 1))
    with pytest.raises(NotEligible):
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=gemeinde,
                                  requested_amount=money("10.00"), submitted_on=date(2021, 1, 1))


def test_refuses_drawdowns_beyond_the_award(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "100.00")
    ledger.request_drawdown(CLERK, application_id=app_id, amount=money("60.00"),
                            requested_on=date(2020, 4, 1))

    with pytest.raises(OverDrawdown):
        ledger.request_drawdown(CLERK, application_id=app_id, amount=money("40.01"),
                                requested_on=date(2020, 4, 1))
    with pytest.raises(BelowPaid):
        ledger.amend_award(APPROVER, application_id=app_id, new_amount=money("59.99"),
                           reason="cut", decided_on=date(2020, 4, 2))


def test_refuses_repayment_beyond_net_paid(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "100.00")
    d = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("50.00"),
                                requested_on=date(2020, 4, 1)).ids["drawdown_id"]
    ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id=d, paid_on=date(2020, 4, 2))
    ledger.record_repayment(FINANCE, application_id=app_id, amount=money("30.00"),
                            received_on=date(2020, 5, 1), reason="unspent")

    with pytest.raises(OverRepayment):
        ledger.record_repayment(FINANCE, application_id=app_id, amount=money("20.01"),
                                received_on=date(2020, 5, 2), reason="unspent")
    with pytest.raises(BelowPaid):
        ledger.amend_award(APPROVER, application_id=app_id, new_amount=money("49.99"),
                           reason="cut", decided_on=date(2020, 5, 3))


def test_refuses_transitions_from_the_wrong_state(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    a, b = recipients(ledger, 2)
    app_id = approved(ledger, f, a, "100.00")
    d = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("10.00"),
                                requested_on=date(2020, 4, 1)).ids["drawdown_id"]
    ledger.cancel_drawdown(CLERK, application_id=app_id, drawdown_id=d, reason="wrong")
    submitted = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=b,
                                          requested_amount=money("10.00"),
                                          submitted_on=date(2020, 2, 1)).ids["application_id"]

    with pytest.raises(InvalidState):
        ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id=d, paid_on=date(2020, 4, 2))
    with pytest.raises(InvalidState):
        ledger.approve_application(APPROVER, application_id=app_id,
                                   approved_amount=money("1.00"), decided_on=date(2020, 4, 2))
    with pytest.raises(InvalidState):
        ledger.withdraw_application(CLERK, application_id=app_id, reason="x",
                                    withdrawn_on=date(2020, 4, 2))
    with pytest.raises(InvalidState):
        ledger.request_drawdown(CLERK, application_id=submitted, amount=money("1.00"),
                                requested_on=date(2020, 4, 2))
    with pytest.raises(InvalidState):
        ledger.close_application(APPROVER, application_id=submitted, closed_on=date(2020, 4, 2))
    ledger.reject_application(APPROVER, application_id=submitted, reason="incomplete",
                              decided_on=date(2020, 4, 3))
    with pytest.raises(InvalidState):
        ledger.amend_application(CLERK, application_id=submitted, requested_amount=money("5.00"),
                                 reason="again")


def test_revocation_cancels_requested_drawdowns_and_releases_the_rest(ledger: Ledger) -> None:
    f = funded_phase(ledger, envelope="1000.00", budget="1000.00")
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "400.00")
    d1 = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("100.00"),
                                 requested_on=date(2020, 4, 1)).ids["drawdown_id"]
    ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id=d1, paid_on=date(2020, 4, 2))
    d2 = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("50.00"),
                                 requested_on=date(2020, 4, 3)).ids["drawdown_id"]

    ledger.revoke_application(APPROVER, application_id=app_id, reason="misuse",
                              decided_on=date(2020, 5, 1))

    app = ledger.application(app_id)
    assert app.status == "revoked"
    assert app.drawdowns[d2].status == "cancelled"
    assert app.released == money("300.00")
    assert ledger.phase(f.phase_id).available == money("900.00")
    ledger.record_repayment(FINANCE, application_id=app_id, amount=money("100.00"),
                            received_on=date(2020, 6, 1), reason="clawback")
    assert ledger.application(app_id).net_paid == Money.zero()


def test_four_eyes(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    a, b = recipients(ledger, 2)
    clerk_approver = actor("clara", "approver")  # same user as CLERK, another role
    app_id = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=a,
                                       requested_amount=money("10.00"),
                                       submitted_on=date(2020, 2, 1)).ids["application_id"]
    amended = ledger.submit_application(CLERK_2, phase_id=f.phase_id, recipient_id=b,
                                        requested_amount=money("10.00"),
                                        submitted_on=date(2020, 2, 1)).ids["application_id"]
    ledger.amend_application(actor("anna", "clerk"), application_id=amended,
                             requested_amount=money("9.00"), reason="typo")

    with pytest.raises(FourEyes):
        ledger.approve_application(clerk_approver, application_id=app_id,
                                   approved_amount=money("10.00"), decided_on=date(2020, 3, 1))
    with pytest.raises(FourEyes):
        ledger.approve_application(APPROVER, application_id=amended,
                                   approved_amount=money("9.00"), decided_on=date(2020, 3, 1))
    ledger.approve_application(APPROVER, application_id=app_id, approved_amount=money("10.00"),
                               decided_on=date(2020, 3, 1))
    d = ledger.request_drawdown(actor("fritz", "clerk"), application_id=app_id,
                                amount=money("5.00"),
                                requested_on=date(2020, 4, 1)).ids["drawdown_id"]
    with pytest.raises(FourEyes):
        ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id=d, paid_on=date(2020, 4, 2))
    ledger.pay_drawdown(FINANCE_2, application_id=app_id, drawdown_id=d, paid_on=date(2020, 4, 2))


def test_refuses_events_in_a_closed_fiscal_year(ledger: Ledger) -> None:
    f = funded_phase(ledger, budget="1000.00", envelope="500.00")
    a, b = recipients(ledger, 2)
    app_id = approved(ledger, f, a, "100.00")
    d = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("50.00"),
                                requested_on=date(2020, 4, 1)).ids["drawdown_id"]
    pending = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=b,
                                        requested_amount=money("10.00"),
                                        submitted_on=date(2020, 5, 1)).ids["application_id"]
    ledger.close_fiscal_year(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                             closed_on=date(2021, 1, 10))

    with pytest.raises(FiscalYearClosed):
        ledger.pay_drawdown(FINANCE_2, application_id=app_id, drawdown_id=d,
                            paid_on=date(2020, 12, 31))
    with pytest.raises(FiscalYearClosed):
        ledger.approve_application(APPROVER, application_id=pending,
                                   approved_amount=money("10.00"), decided_on=date(2021, 2, 1))
    with pytest.raises(FiscalYearClosed):
        ledger.record_direct_expenditure(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                                         amount=money("1.00"), paid_on=date(2020, 12, 1),
                                         payee="x", purpose="y")
    with pytest.raises(InvalidState):
        ledger.close_fiscal_year(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                                 closed_on=date(2021, 1, 11))
    # A payment dated in the open year is still fine.
    ledger.pay_drawdown(FINANCE_2, application_id=app_id, drawdown_id=d, paid_on=date(2021, 1, 20))


def test_refuses_unknown_entities(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "10.00")

    with pytest.raises(NotFound):
        ledger.submit_application(CLERK, phase_id="nope", recipient_id=rid,
                                  requested_amount=money("1.00"), submitted_on=date(2020, 2, 1))
    with pytest.raises(NotFound):
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id="nobody",
                                  requested_amount=money("1.00"), submitted_on=date(2020, 2, 1))
    with pytest.raises(NotFound):
        ledger.approve_application(APPROVER, application_id="not-a-uuid",
                                   approved_amount=money("1.00"), decided_on=date(2020, 2, 1))
    with pytest.raises(NotFound):
        ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id="D9",
                            paid_on=date(2020, 2, 1))
    with pytest.raises(NotFound):
        ledger.appropriate_budget(FINANCE, programme_id="ghost", fiscal_year=2020,
                                  amount=money("1.00"), effective_date=date(2020, 1, 1))


def test_refuses_invalid_input_and_duplicates(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    before = ledger.head()

    with pytest.raises(ValidationFailed):
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                  requested_amount=Money.zero(), submitted_on=date(2020, 2, 1))
    with pytest.raises(ValidationFailed):
        Money.parse("1.001")
    with pytest.raises(ValidationFailed):
        Money.parse(1.5)
    with pytest.raises(ValidationFailed):
        ledger.withdraw_application(CLERK, application_id="x", reason=" ",
                                    withdrawn_on=date(2020, 1, 1))
    with pytest.raises(AlreadyExists):
        ledger.create_programme(ADMIN, programme_id=f.programme_id, name="again", funder="x")
    with pytest.raises(AlreadyExists):
        ledger.register_recipients(ADMIN, recipients=[NewRecipient("new-one", "N", "gemeinde"),
                                                      NewRecipient(rid, "dup", "gemeinde")])
    assert ledger.head() == before


def test_idempotency_key_replays_and_refuses_a_different_request(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "100.00")
    keyed = actor("clara", "clerk", key="dd-1")

    first = ledger.request_drawdown(keyed, application_id=app_id, amount=money("10.00"),
                                    requested_on=date(2020, 4, 1))
    again = ledger.request_drawdown(keyed, application_id=app_id, amount=money("10.00"),
                                    requested_on=date(2020, 4, 1))

    assert again.replayed and again.ids == first.ids and again.position == first.position
    assert len(ledger.application(app_id).drawdowns) == 1
    with pytest.raises(IdempotencyMismatch):
        ledger.request_drawdown(keyed, application_id=app_id, amount=money("11.00"),
                                requested_on=date(2020, 4, 1))


def test_bulk_submission_is_all_or_nothing(ledger: Ledger) -> None:
    from ledger import NewApplication

    f = funded_phase(ledger)
    a, b = recipients(ledger, 2)
    before = ledger.head()
    batch = [
        NewApplication(f.phase_id, a, money("10.00"), date(2020, 2, 1)),
        NewApplication(f.phase_id, b, money("10.00"), date(2020, 2, 1)),
        NewApplication(f.phase_id, a, money("10.00"), date(2020, 2, 1)),
    ]

    with pytest.raises(DuplicateApplication, match="application 3"):
        ledger.submit_applications(CLERK, applications=batch)
    assert ledger.head() == before

    result = ledger.submit_applications(CLERK, applications=batch[:2])
    ids = result.ids["application_ids"].split(",")
    assert [ledger.application(i).recipient_id for i in ids] == [a, b]


def test_a_withdrawal_follows_every_amendment_even_one_an_earlier_release_dated(
        ledger: Ledger) -> None:
    """An earlier release dated an undated amendment by the day it was recorded and let it
    hold nothing back; a withdrawal dated before it took the amended request out of
    `requested` by business date before it was there (-500.00). Every amendment's date
    now holds a withdrawal back; a decision stays held back by dated ones only."""
    f = funded_phase(ledger)
    [rid] = recipients(ledger, 1)
    aid = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                    requested_amount=money("1000.00"),
                                    submitted_on=date(2020, 3, 1)).ids["application_id"]
    grant = ledger.application(aid)  # as an earlier release recorded an undated amendment
    grant.amend(CLERK_2, requested_amount=money("1500.00"), measures=list(grant.measures),
                reason="legacy", amended_on=date(2020, 9, 1), dated=False)
    ledger.save(grant)
    before = ledger.head()[0]

    with pytest.raises(DateOrder, match="2020-09-01"):
        ledger.withdraw_application(CLERK, application_id=aid, reason="x",
                                    withdrawn_on=date(2020, 5, 1))

    assert ledger.head()[0] == before
    ledger.withdraw_application(CLERK, application_id=aid, reason="x",
                                withdrawn_on=date(2020, 9, 1))
