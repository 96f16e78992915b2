"""Handlers of programmes, yearly budgets, phases and recipients."""

from __future__ import annotations

from ledger.commands.context import Context, Decision, handles
from ledger.commands.model import (
    AmendBudget,
    AppropriateBudget,
    CloseFiscalYear,
    CreateProgramme,
    OpenPhase,
    RecordDirectExpenditure,
    RegisterRecipients,
)
from ledger.domain.base import Actor
from ledger.domain.phase import Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient
from ledger.errors import AlreadyExists
from ledger.money import Money


@handles(CreateProgramme)
def create_programme(command: CreateProgramme, actor: Actor, context: Context) -> Decision:
    if context.exists(Programme.id_for(command.programme_id)):
        raise AlreadyExists(f"programme {command.programme_id} already exists")
    programme = Programme.start(
        Programme.Registered, actor, id=Programme.id_for(command.programme_id),
        effective_date=context.today, programme_id=command.programme_id,
        name=command.name, funder=command.funder,
    )
    return Decision([programme], {"programme_id": command.programme_id}, programme)


@handles(AppropriateBudget)
def appropriate_budget(command: AppropriateBudget, actor: Actor, context: Context) -> Decision:
    programme = context.programme(command.programme_id)
    programme.appropriate(actor, fiscal_year=command.fiscal_year, amount=command.amount,
                          effective_date=command.effective_date)
    return Decision([programme], {"programme_id": command.programme_id}, programme)


@handles(AmendBudget)
def amend_budget(command: AmendBudget, actor: Actor, context: Context) -> Decision:
    programme = context.programme(command.programme_id)
    programme.amend_budget(actor, fiscal_year=command.fiscal_year,
                           new_amount=command.new_amount, reason=command.reason,
                           effective_date=command.effective_date)
    return Decision([programme], {"programme_id": command.programme_id}, programme)


@handles(RecordDirectExpenditure)
def record_direct_expenditure(
    command: RecordDirectExpenditure, actor: Actor, context: Context
) -> Decision:
    programme = context.programme(command.programme_id)
    programme.spend_directly(actor, fiscal_year=command.fiscal_year, amount=command.amount,
                             paid_on=command.paid_on, payee=command.payee,
                             purpose=command.purpose)
    return Decision([programme], {"programme_id": command.programme_id}, programme)


@handles(CloseFiscalYear)
def close_fiscal_year(command: CloseFiscalYear, actor: Actor, context: Context) -> Decision:
    programme = context.programme(command.programme_id)
    programme.close_year(actor, fiscal_year=command.fiscal_year, closed_on=command.closed_on,
                         carry_over=command.carry_over or Money.zero())
    return Decision([programme], {"programme_id": command.programme_id}, programme)


@handles(OpenPhase)
def open_phase(command: OpenPhase, actor: Actor, context: Context) -> Decision:
    """Opens a phase and funds its envelope from the year's budget (I2)."""
    if context.exists(Phase.id_for(command.phase_id)):
        raise AlreadyExists(f"phase {command.phase_id} already exists")
    programme = context.programme(command.programme_id)
    funded_on = programme.fund_phase(actor, fiscal_year=command.fiscal_year,
                                     phase_id=command.phase_id, amount=command.envelope,
                                     effective_date=command.opens_on)
    phase = Phase.start(
        Phase.Opened, actor, id=Phase.id_for(command.phase_id),
        effective_date=command.opens_on, phase_id=command.phase_id,
        programme_id=command.programme_id, name=command.name,
        fiscal_year=command.fiscal_year, envelope=command.envelope,
        opens_on=command.opens_on, closes_on=command.closes_on,
        eligible_kinds=list(command.eligible_kinds),
        max_open_per_recipient=command.max_open_per_recipient,
        allow_award_above_request=command.allow_award_above_request,
        funded_on=funded_on if funded_on != command.opens_on else None,
    )
    return Decision([programme, phase], {"phase_id": command.phase_id}, phase)


@handles(RegisterRecipients)
def register_recipients(command: RegisterRecipients, actor: Actor, context: Context) -> Decision:
    """Registers one or many recipients, all or nothing."""
    taken = [r.recipient_id for r in command.recipients
             if context.exists(Recipient.id_for(r.recipient_id))]
    if taken:
        raise AlreadyExists(f"recipients already registered: {', '.join(taken[:20])}")
    created = [
        Recipient.start(
            Recipient.Registered, actor, id=Recipient.id_for(r.recipient_id),
            effective_date=context.today, recipient_id=r.recipient_id, name=r.name,
            kind=r.kind, population=r.population, district_id=r.district_id,
        )
        for r in command.recipients
    ]
    return Decision(list(created), {"count": str(len(created))},
                    created[0] if len(created) == 1 else None)
