"""Handlers of applications and award decisions: submit, amend, withdraw, approve,
reject, amend the award."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from datetime import date
from uuid import UUID, uuid4

from ledger.commands.context import Context, Decision, handles
from ledger.commands.model import (
    AmendApplication,
    AmendAward,
    ApproveApplication,
    NewApplication,
    RejectApplication,
    SubmitApplication,
    SubmitApplications,
    WithdrawApplication,
    measures_of,
)
from ledger.domain.base import Actor, entity_uuid
from ledger.domain.grant import Grant
from ledger.domain.phase import Phase
from ledger.domain.recipient import Recipient
from ledger.errors import DuplicateReference, LedgerError, rows_refused
from ledger.money import Money


def grant_id(programme_id: str, reference: str | None) -> UUID:
    """A new application's id. With a file reference it derives from (programme,
    reference), so a second application with that reference in the programme
    would be a second creation of the same aggregate (I16), which the context
    sees and the store refuses even between processes."""
    if reference is None:
        return uuid4()
    return entity_uuid("application-reference", f"{programme_id}\x1f{reference.casefold()}")


def _submit(row: NewApplication, actor: Actor, context: Context, phase: Phase,
            taken: Collection[UUID] = ()) -> Grant:
    recipient = context.recipient(row.recipient_id)
    context.programme(phase.programme_id).check_open(row.submitted_on, what="submission date")
    phase.check_accepts(recipient_id=row.recipient_id, kind=recipient.kind,
                        submitted_on=row.submitted_on)
    aggregate_id = _new_id(row, context, phase, taken)
    application_id = str(aggregate_id)
    grant = Grant.start(
        Grant.Submitted, actor, id=aggregate_id, effective_date=row.submitted_on,
        application_id=application_id, programme_id=phase.programme_id,
        phase_id=phase.phase_id, fiscal_year=phase.fiscal_year,
        recipient_id=row.recipient_id, recipient_kind=recipient.kind,
        requested_amount=row.requested_amount,
        measures=[m.as_event() for m in row.measure_list], reference=row.reference,
    )
    phase.receive(actor, application_id=application_id, recipient_id=row.recipient_id,
                  submitted_on=row.submitted_on)
    return grant


def _new_id(row: NewApplication, context: Context, phase: Phase,
            taken: Collection[UUID]) -> UUID:
    """The row's application id; refuses its file reference if the programme has it
    already, or an earlier row of the batch (`taken`) does (I16)."""
    aggregate_id = grant_id(phase.programme_id, row.reference)
    if row.reference is not None and context.exists(aggregate_id):
        raise DuplicateReference(
            f"file reference {row.reference!r} is already used in programme "
            f"{phase.programme_id}")
    if aggregate_id in taken:
        raise DuplicateReference(f"file reference {row.reference!r} appears twice")
    return aggregate_id


@handles(SubmitApplication)
def submit_application(command: SubmitApplication, actor: Actor, context: Context) -> Decision:
    phase = context.phase(command.phase_id)
    grant = _submit(command.as_new(), actor, context, phase)
    return Decision([grant, phase], {"application_id": grant.application_id}, grant)


@handles(SubmitApplications)
def submit_applications(
    command: SubmitApplications, actor: Actor, context: Context
) -> Decision:
    """Each is checked against the phase as the accepted ones before it left it, so
    duplicates within the batch are refused too. Every refused row is refused at once
    (the refusal's `rows`, by index), its reference checked whatever else refused it, and
    none is written. `ids["application_ids"]` lists the new ids."""
    phases: dict[str, Phase] = {}
    created: list[Grant] = []
    taken: set[UUID] = set()  # the references of the rows so far, refused ones too
    refused: list[tuple[int, LedgerError]] = []
    _preload(command, context)
    for n, row in enumerate(command.applications):
        try:
            phase = phases.get(row.phase_id) or context.phase(row.phase_id)
        except LedgerError as exc:
            refused.append((n, exc))
            continue
        phases[row.phase_id] = phase
        try:
            created.append(_submit(row, actor, context, phase, taken))
        except DuplicateReference as exc:
            refused.append((n, exc))
        except LedgerError as exc:
            refused.append((n, exc))
            try:
                _new_id(row, context, phase, taken)
            except DuplicateReference as also:
                refused.append((n, also))
        if row.reference is not None:
            taken.add(grant_id(phase.programme_id, row.reference))
    if refused:
        raise rows_refused(refused, of=len(command.applications))
    return Decision([*created, *phases.values()],
                    {"application_ids": ",".join(g.application_id for g in created)})


def _preload(command: SubmitApplications, context: Context) -> None:
    """An import of thousands of rows: its recipients, and the ids its file references
    would take (I16), in one read instead of one each."""
    programmes: dict[str, str] = {}
    for phase_id in {row.phase_id for row in command.applications}:
        with contextlib.suppress(LedgerError):  # an unknown phase is refused with its row
            programmes[phase_id] = context.phase(phase_id).programme_id
    context.preload([
        *(Recipient.id_for(row.recipient_id) for row in command.applications),
        *(grant_id(programmes[row.phase_id], row.reference) for row in command.applications
          if row.reference is not None and row.phase_id in programmes)])


@handles(AmendApplication)
def amend_application(command: AmendApplication, actor: Actor, context: Context) -> Decision:
    grant = context.application(command.application_id)
    # Undated (SPEC §6 gives an amendment no date): a correction of the application as
    # it stands, on its date (the submission's, or the last amendment's) — so figures by
    # business date count the corrected request from then on, and a decision or a
    # withdrawal dated after the submission always follows it (I14).
    programme = context.programme(grant.programme_id)
    effective = command.amended_on or grant.application_dated
    if command.amended_on is None and programme.is_closed(effective.year):
        effective = context.today  # its own date lies in a closed year: the day recorded
    # Dated by other than the application's own date (given, or the day recorded): what
    # follows may not be dated before it, or figures by business date would count a
    # withdrawal of a request not yet amended then.
    dated = command.amended_on is not None or effective != grant.application_dated
    programme.check_open(effective)
    grant.amend(
        actor,
        requested_amount=command.requested_amount if command.requested_amount is not None
        else grant.requested,
        measures=[m.as_event() for m in measures_of(command.measures)]
        if command.measures is not None
        else grant.measures,
        reason=command.reason, amended_on=effective, dated=dated,
    )
    return Decision([grant], {"application_id": command.application_id}, grant)


def settling(
    actor: Actor, context: Context, application_id: str, *, day: date, reason: str | None,
    transition: Callable[[Grant], Money],
) -> Decision:
    """A move out of the open states (withdraw, reject, close, revoke): the
    application's event plus the phase's `ApplicationSettled`, which frees the
    recipient's slot (I4) and takes back what the transition released."""
    grant = context.application(application_id)
    phase = context.phase(grant.phase_id)
    context.programme(grant.programme_id).check_open(day)
    released = transition(grant)
    phase.settle(actor, application_id=application_id, recipient_id=grant.recipient_id,
                 released=released, effective_date=day, reason=reason)
    return Decision([grant, phase], {"application_id": application_id}, grant)


@handles(WithdrawApplication)
def withdraw_application(
    command: WithdrawApplication, actor: Actor, context: Context
) -> Decision:
    def withdraw(grant: Grant) -> Money:
        grant.withdraw(actor, reason=command.reason, withdrawn_on=command.withdrawn_on)
        return Money.zero()

    return settling(actor, context, command.application_id, day=command.withdrawn_on,
                    reason=command.reason, transition=withdraw)


@handles(RejectApplication)
def reject_application(command: RejectApplication, actor: Actor, context: Context) -> Decision:
    def reject(grant: Grant) -> Money:
        grant.reject(actor, reason=command.reason, decided_on=command.decided_on)
        return Money.zero()

    return settling(actor, context, command.application_id, day=command.decided_on,
                    reason=command.reason, transition=reject)


@handles(ApproveApplication)
def approve_application(
    command: ApproveApplication, actor: Actor, context: Context
) -> Decision:
    """Awards the grant, committing the amount against the phase's envelope (I3)."""
    grant = context.application(command.application_id)
    phase = context.phase(grant.phase_id)
    programme = context.programme(grant.programme_id)
    programme.check_open(command.decided_on, what="decision date")
    programme.check_year_open(phase.fiscal_year)
    grant.approve(actor, approved_amount=command.approved_amount,
                  decided_on=command.decided_on,
                  decision_reference=command.decision_reference)
    phase.check_award(approved=command.approved_amount, requested=grant.requested)
    phase.commit(actor, application_id=command.application_id,
                 change=command.approved_amount, decided_on=command.decided_on)
    return Decision([grant, phase], {"application_id": command.application_id}, grant)


@handles(AmendAward)
def amend_award(command: AmendAward, actor: Actor, context: Context) -> Decision:
    grant = context.application(command.application_id)
    phase = context.phase(grant.phase_id)
    programme = context.programme(grant.programme_id)
    programme.check_open(command.decided_on, what="decision date")
    change = grant.amend_award(actor, new_amount=command.new_amount, reason=command.reason,
                               decided_on=command.decided_on)
    if change.amount > 0:
        programme.check_year_open(phase.fiscal_year)
    phase.commit(actor, application_id=command.application_id, change=change,
                 decided_on=command.decided_on)
    return Decision([grant, phase], {"application_id": command.application_id}, grant)
