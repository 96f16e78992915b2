"""The handlers on aggregates alone: no store, no writer, no database.

A `Memory` context holds the aggregates; each test runs a command's handler
and looks at the events it decided (or the refusal it raised).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from ledger import commands as c
from ledger.commands import Context, Decision, handler_for
from ledger.domain.base import Actor, LedgerAggregate
from ledger.errors import (
    AlreadyExists,
    AwardAboveRequest,
    BudgetExceeded,
    DateOrder,
    DuplicateApplication,
    DuplicateReference,
    FourEyes,
    InvalidState,
    NotEligible,
    NotFound,
    OverDrawdown,
    ValidationFailed,
)
from ledger.money import Money

ADMIN = Actor("ada", "admin", "t")
FINANCE = Actor("fritz", "finance", "t")
CLERK = Actor("clara", "clerk", "t")
APPROVER = Actor("anna", "approver", "t")
PAYMASTER = Actor("paul", "finance", "t")


def eur(text: str) -> Money:
    return Money(Decimal(text))


@dataclass
class Memory(Context):
    """A Context over a dictionary of aggregates."""

    aggregates: dict[UUID, LedgerAggregate] = field(default_factory=dict)
    today: date = date(2020, 6, 1)

    def find(self, aggregate_id: UUID) -> LedgerAggregate | None:
        return self.aggregates.get(aggregate_id)

    def run(self, actor: Actor, command: c.Command) -> tuple[Decision, list[Any]]:
        """Decides; a refusal leaves the aggregates as they were (as the writer does)."""
        before = copy.deepcopy(self.aggregates)
        try:
            decision = handler_for(command)(command, actor, self)
        except Exception:
            self.aggregates = before
            raise
        events = [e for a in decision.aggregates for e in a.collect_events()]
        for aggregate in decision.aggregates:
            self.aggregates[aggregate.id] = aggregate
        return decision, events


@pytest.fixture
def world() -> Memory:
    """A programme with 1,000.00 budgeted for 2020, a phase with an envelope of
    1,000.00 and two recipients."""
    m = Memory()
    m.run(ADMIN, c.CreateProgramme(programme_id="p", name="Programme", funder="Land"))
    m.run(FINANCE, c.AppropriateBudget(programme_id="p", fiscal_year=2020,
                                       amount=eur("1000.00"), effective_date=date(2020, 1, 1)))
    m.run(ADMIN, c.OpenPhase(programme_id="p", phase_id="ph", name="Phase", fiscal_year=2020,
                             envelope=eur("1000.00"), opens_on=date(2020, 1, 1),
                             closes_on=date(2020, 12, 31), eligible_kinds=["gemeinde"]))
    m.run(ADMIN, c.RegisterRecipients(recipients=[
        c.NewRecipient("r1", "Eins", "gemeinde"), c.NewRecipient("r2", "Zwei", "gemeinde"),
        c.NewRecipient("s1", "Stadt", "stadt")]))
    return m


def submit(m: Memory, recipient: str = "r1", amount: str = "600.00",
           reference: str | None = None) -> str:
    decision, _ = m.run(CLERK, c.SubmitApplication(
        phase_id="ph", recipient_id=recipient, requested_amount=eur(amount),
        submitted_on=date(2020, 2, 1), reference=reference))
    return decision.ids["application_id"]


def test_open_phase_funds_the_envelope_from_the_budget(world: Memory) -> None:
    assert world.phase("ph").envelope == eur("1000.00")
    with pytest.raises(BudgetExceeded):
        world.run(ADMIN, c.OpenPhase(programme_id="p", phase_id="ph2", name="Two",
                                     fiscal_year=2020, envelope=eur("0.01"),
                                     opens_on=date(2020, 1, 1), closes_on=date(2020, 12, 31),
                                     eligible_kinds=["gemeinde"]))
    with pytest.raises(AlreadyExists):
        world.run(ADMIN, c.CreateProgramme(programme_id="p", name="Again", funder="Land"))


def event_type(event: Any) -> str:
    """The type the audit trail shows (`Application.Submitted`): from the stored topic."""
    return get_topic(type(event)).rsplit(":", 1)[-1]


def test_submission_emits_the_application_and_the_phase_event_in_that_order(
        world: Memory) -> None:
    decision, events = world.run(CLERK, c.SubmitApplication(
        phase_id="ph", recipient_id="r1", requested_amount=eur("600.00"),
        submitted_on=date(2020, 2, 1)))
    assert [event_type(e) for e in events] == [
        "Application.Submitted", "Phase.ApplicationReceived"]
    assert decision.subject is decision.aggregates[0]


def test_submission_refusals(world: Memory) -> None:
    submit(world, "r1")
    with pytest.raises(DuplicateApplication):
        submit(world, "r1")
    with pytest.raises(NotEligible):
        submit(world, "s1")
    with pytest.raises(NotFound):
        submit(world, "nobody")


def test_a_file_reference_is_unique_in_its_programme_whatever_its_case(world: Memory) -> None:
    submit(world, "r1", reference="AZ-1")
    with pytest.raises(DuplicateReference):
        submit(world, "r2", reference="az-1")


def test_a_batch_of_applications_is_checked_row_by_row(world: Memory) -> None:
    rows = [c.NewApplication("ph", "r1", eur("10.00"), date(2020, 2, 1)),
            c.NewApplication("ph", "r1", eur("10.00"), date(2020, 2, 1))]
    with pytest.raises(DuplicateApplication, match="application 2"):
        world.run(CLERK, c.SubmitApplications(applications=rows))


def test_a_batch_refuses_every_bad_row_at_once_by_its_index(world: Memory) -> None:
    submit(world, "r2", "10.00", reference="AZ-1")
    before = copy.deepcopy(world.aggregates)
    rows = [c.NewApplication("ph", "r1", eur("10.00"), date(2020, 2, 1), "AZ-2"),   # good
            c.NewApplication("ph", "nobody", eur("10.00"), date(2020, 2, 1), "az-1"),
            c.NewApplication("nowhere", "r1", eur("10.00"), date(2020, 2, 1)),
            c.NewApplication("ph", "r1", eur("10.00"), date(2020, 2, 1), "AZ-2")]

    with pytest.raises(NotFound, match=r"^application 2: .* \(and 2 more") as refused:
        world.run(CLERK, c.SubmitApplications(applications=rows))

    assert [(n, type(exc)) for n, exc in refused.value.rows] == [
        (1, NotFound), (1, DuplicateReference), (2, NotFound),
        (3, DuplicateApplication), (3, DuplicateReference)]
    assert "already used in programme p" in refused.value.rows[1][1].detail
    assert "appears twice" in refused.value.rows[4][1].detail
    assert world.aggregates.keys() == before.keys()


def test_a_reference_twice_in_a_batch_is_refused_even_when_its_first_row_is(
        world: Memory) -> None:
    rows = [c.NewApplication("ph", "s1", eur("10.00"), date(2020, 2, 1), "AZ-9"),  # stadt
            c.NewApplication("ph", "r1", eur("10.00"), date(2020, 2, 1), "AZ-9")]

    with pytest.raises(NotEligible) as refused:
        world.run(CLERK, c.SubmitApplications(applications=rows))

    assert [(n, exc.code) for n, exc in refused.value.rows] == [
        (0, "not_eligible"), (1, "duplicate_reference")]


def test_approval_commits_the_envelope_and_refuses_over_it(world: Memory) -> None:
    first, second = submit(world, "r1"), submit(world, "r2")
    _, events = world.run(APPROVER, c.ApproveApplication(
        application_id=first, approved_amount=eur("600.00"), decided_on=date(2020, 3, 1)))
    assert [event_type(e) for e in events] == [
        "Application.Approved", "Phase.CommitmentChanged"]
    assert world.phase("ph").available == eur("400.00")
    with pytest.raises(BudgetExceeded):
        world.run(APPROVER, c.ApproveApplication(
            application_id=second, approved_amount=eur("600.00"),
            decided_on=date(2020, 3, 1)))


def test_no_award_above_the_request_unless_the_phase_allows_it(world: Memory) -> None:
    application_id = submit(world, "r1", amount="100.00")
    with pytest.raises(AwardAboveRequest):
        world.run(APPROVER, c.ApproveApplication(
            application_id=application_id, approved_amount=eur("100.01"),
            decided_on=date(2020, 3, 1)))
    world.run(APPROVER, c.ApproveApplication(
        application_id=application_id, approved_amount=eur("100.00"),
        decided_on=date(2020, 3, 1)))
    # A later award amendment may raise it.
    world.run(APPROVER, c.AmendAward(application_id=application_id, new_amount=eur("150.00"),
                                     reason="higher costs", decided_on=date(2020, 3, 2)))
    assert world.application(application_id).awarded == eur("150.00")


def test_a_phase_may_allow_awards_above_the_request() -> None:
    m = Memory()
    m.run(ADMIN, c.CreateProgramme(programme_id="p", name="P", funder="F"))
    m.run(FINANCE, c.AppropriateBudget(programme_id="p", fiscal_year=2020,
                                       amount=eur("500.00"), effective_date=date(2020, 1, 1)))
    m.run(ADMIN, c.OpenPhase(programme_id="p", phase_id="ph", name="P", fiscal_year=2020,
                             envelope=eur("500.00"), opens_on=date(2020, 1, 1),
                             closes_on=date(2020, 12, 31), eligible_kinds=["gemeinde"],
                             allow_award_above_request=True))
    m.run(ADMIN, c.RegisterRecipients(recipients=[c.NewRecipient("r1", "E", "gemeinde")]))
    application_id = submit(m, "r1", amount="100.00")
    m.run(APPROVER, c.ApproveApplication(application_id=application_id,
                                         approved_amount=eur("200.00"),
                                         decided_on=date(2020, 3, 1)))
    assert m.application(application_id).awarded == eur("200.00")


def test_four_eyes_and_date_order(world: Memory) -> None:
    application_id = submit(world, "r1")
    with pytest.raises(FourEyes):
        world.run(Actor("clara", "approver", "t"), c.ApproveApplication(
            application_id=application_id, approved_amount=eur("600.00"),
            decided_on=date(2020, 3, 1)))
    with pytest.raises(DateOrder):
        world.run(APPROVER, c.ApproveApplication(
            application_id=application_id, approved_amount=eur("600.00"),
            decided_on=date(2020, 1, 15)))


def test_drawdowns_stay_within_the_award_and_pay_in_order(world: Memory) -> None:
    application_id = submit(world, "r1")
    world.run(APPROVER, c.ApproveApplication(
        application_id=application_id, approved_amount=eur("600.00"),
        decided_on=date(2020, 3, 1)))
    decision, _ = world.run(CLERK, c.RequestDrawdown(
        application_id=application_id, amount=eur("400.00"), requested_on=date(2020, 4, 1)))
    assert decision.ids["drawdown_id"] == "D1"
    with pytest.raises(OverDrawdown):
        world.run(CLERK, c.RequestDrawdown(
            application_id=application_id, amount=eur("200.01"),
            requested_on=date(2020, 4, 1)))
    world.run(PAYMASTER, c.PayDrawdown(application_id=application_id, drawdown_id="D1",
                                       paid_on=date(2020, 4, 2)))
    with pytest.raises(InvalidState):
        world.run(PAYMASTER, c.PayDrawdown(application_id=application_id, drawdown_id="D1",
                                           paid_on=date(2020, 4, 3)))
    assert world.application(application_id).paid == eur("400.00")


def approved_and_paid(world: Memory, application_id: str) -> None:
    """Awarded 600.00, of which one drawdown of 100.00 requested and paid."""
    world.run(APPROVER, c.ApproveApplication(
        application_id=application_id, approved_amount=eur("600.00"),
        decided_on=date(2020, 3, 1)))
    world.run(CLERK, c.RequestDrawdown(application_id=application_id, amount=eur("100.00"),
                                       requested_on=date(2020, 4, 1)))
    world.run(PAYMASTER, c.PayDrawdown(application_id=application_id, drawdown_id="D1",
                                       paid_on=date(2020, 4, 2)))


def test_closing_releases_what_was_not_paid(world: Memory) -> None:
    application_id = submit(world, "r1")
    approved_and_paid(world, application_id)
    world.run(ADMIN, c.CloseApplication(application_id=application_id,
                                        closed_on=date(2020, 12, 1)))
    assert world.phase("ph").committed == eur("100.00")
    assert "r1" not in world.phase("ph").open_applications


@pytest.mark.parametrize(("build", "message"), [
    (lambda: c.ApproveApplication(application_id="a", approved_amount="0.00",
                                  decided_on=date(2020, 1, 1)), "greater than 0.00"),
    (lambda: c.RequestDrawdown(application_id="a", amount="1.001",
                               requested_on=date(2020, 1, 1)), "amount"),
    (lambda: c.RejectApplication(application_id="a", reason="  ",
                                 decided_on=date(2020, 1, 1)), "reason"),
    (lambda: c.OpenPhase(programme_id="p", phase_id="x", name="n", fiscal_year=2020,
                         envelope="1.00", opens_on=date(2020, 2, 1),
                         closes_on=date(2020, 1, 1), eligible_kinds=["gemeinde"]),
     "closes_on"),
    (lambda: c.OpenPhase(programme_id="p", phase_id="x", name="n", fiscal_year=2020,
                         envelope="1.00", opens_on=date(2020, 1, 1),
                         closes_on=date(2020, 2, 1), eligible_kinds=["dorf"]),
     "eligible_kinds"),
    (lambda: c.SubmitApplication(phase_id="ph", recipient_id="r", requested_amount="5.00",
                                 submitted_on=date(2020, 1, 1),
                                 measures=[{"category": "magic", "description": "d",
                                            "amount": "5.00"}]), "measures[0].category"),
    (lambda: c.RegisterRecipients(recipients=[c.NewRecipient("r", "A", "gemeinde"),
                                              c.NewRecipient("r", "B", "gemeinde")]),
     "appears twice"),
])
def test_a_command_refuses_bad_input_when_it_is_built(build: Any, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message.replace("[", r"\[").replace("]", r"\]")):
        build()


def test_a_command_normalises_what_it_keeps() -> None:
    command = c.OpenPhase(programme_id="p", phase_id="x", name="  Phase  ", fiscal_year=2020,
                          envelope="10.5", opens_on=date(2020, 1, 1),
                          closes_on=date(2020, 2, 1), eligible_kinds=["stadt", "gemeinde",
                                                                      "stadt"])
    assert command.name == "Phase"
    assert command.envelope == eur("10.50")
    assert command.eligible_kinds == ("gemeinde", "stadt")


def test_the_fingerprint_covers_every_field() -> None:
    base = dict(application_id=str(uuid.uuid4()), approved_amount=eur("10.00"),
                decided_on=date(2020, 3, 1), decision_reference="B-1")
    command = c.ApproveApplication(**base)  # type: ignore[arg-type]
    variants = [
        {"application_id": str(uuid.uuid4())}, {"approved_amount": eur("10.01")},
        {"decided_on": date(2020, 3, 2)}, {"decision_reference": "B-2"},
        {"decision_reference": None},
    ]
    prints = {command.fingerprint("anna")}
    for change in variants:
        prints.add(c.ApproveApplication(**{**base, **change}).fingerprint("anna"))  # type: ignore[arg-type]
    prints.add(command.fingerprint("other"))
    assert len(prints) == len(variants) + 2
    assert command.fingerprint("anna") == c.ApproveApplication(**base).fingerprint("anna")  # type: ignore[arg-type]


def _mutables(value: Any, found: dict[int, Any]) -> dict[int, Any]:
    """Every mutable object reachable from `value` (containers, dataclasses), by id."""
    if isinstance(value, (list, dict, set)) or (
            hasattr(value, "__dict__") and not isinstance(value, (type, Enum))
            and not getattr(getattr(value, "__dataclass_params__", None), "frozen", False)):
        if id(value) in found:
            return found
        found[id(value)] = value
    items: Any = ()
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, set, tuple, frozenset)):
        items = value
    elif hasattr(value, "__dict__") and not isinstance(value, (type, Enum)):
        items = vars(value).values()
    for item in items:
        _mutables(item, found)
    return found


def test_a_deep_copy_of_an_aggregate_equals_it_and_shares_nothing_mutable(
        world: Memory) -> None:
    """Aggregates copy themselves (LedgerAggregate.__deepcopy__, Phase's): the writer
    hands a copy to the caller and keeps the original for the next command."""
    application_id = submit(world, "r1")
    world.run(CLERK, c.AmendApplication(
        application_id=application_id, requested_amount=eur("600.00"), reason="Dach", measures=[
            {"category": "website", "description": "Dach", "amount": "600.00"}]))
    approved_and_paid(world, application_id)
    world.run(CLERK, c.SubmitProofOfUse(application_id=application_id,
                                        spent_amount=eur("100.00"),
                                        submitted_on=date(2020, 5, 1)))
    assert len(world.aggregates) >= 6
    for aggregate in world.aggregates.values():
        clone = copy.deepcopy(aggregate)
        assert type(clone) is type(aggregate)
        assert vars(clone) == vars(aggregate)
        shared = _mutables(aggregate, {}).keys() & _mutables(clone, {}).keys()
        assert not shared, (type(aggregate).__name__, [
            type(_mutables(aggregate, {})[i]).__name__ for i in shared])


def test_an_undated_amendment_of_an_earlier_release_holds_no_decision_back(
        world: Memory) -> None:
    """An earlier release dated an undated amendment by the day it was recorded; such
    an event (not `dated`) must not hold a decision dated before that day back — after an
    upgrade a back-dated approval of such an application was refused with no way out.
    An amendment given its date does hold later steps to it (I14)."""
    old_style = submit(world, "r1")
    grant = world.application(old_style)
    grant.amend(CLERK, requested_amount=eur("500.00"), measures=[], reason="fewer",
                amended_on=date(2026, 11, 27), dated=False)  # as the earlier release did
    grant.collect_events()
    dated = submit(world, "r2")
    world.run(CLERK, c.AmendApplication(application_id=dated, requested_amount=eur("500.00"),
                                        reason="fewer", amended_on=date(2020, 3, 1)))

    world.run(APPROVER, c.ApproveApplication(
        application_id=old_style, approved_amount=eur("500.00"),
        decided_on=date(2020, 2, 15)))
    with pytest.raises(DateOrder):
        world.run(APPROVER, c.ApproveApplication(
            application_id=dated, approved_amount=eur("500.00"),
            decided_on=date(2020, 2, 15)))
    _, events = world.run(CLERK, c.AmendApplication(
        application_id=dated, requested_amount=eur("400.00"), reason="fewer still"))
    assert [e.effective_date for e in events] == [date(2020, 3, 1)]  # the application's
    assert world.application(dated).amended_on == date(2020, 3, 1)
