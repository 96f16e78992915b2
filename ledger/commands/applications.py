"""Applications and award decisions: submit, amend, withdraw, approve, reject, amend award."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from ledger.commands import validate
from ledger.core import CommandResult, Decision, LedgerCore, today
from ledger.domain.application import Application
from ledger.domain.base import Actor
from ledger.domain.phase import Phase
from ledger.errors import LedgerError, ValidationFailed
from ledger.money import Money


@dataclass(frozen=True)
class NewApplication:
    phase_id: str
    recipient_id: str
    requested_amount: Money
    submitted_on: date
    reference: str | None = None
    measures: list[dict[str, Any]] | None = None


class ApplicationCommands(LedgerCore):
    def submit_application(
        self,
        actor: Actor,
        *,
        phase_id: str,
        recipient_id: str,
        requested_amount: Money,
        submitted_on: date,
        reference: str | None = None,
        measures: list[dict[str, Any]] | None = None,
    ) -> CommandResult:
        result = self.submit_applications(
            actor,
            applications=[
                NewApplication(phase_id, recipient_id, requested_amount, submitted_on,
                               reference, measures)
            ],
        )
        return CommandResult(
            ids={"application_id": result.ids["application_ids"]},
            position=result.position,
            replayed=result.replayed,
        )

    def submit_applications(
        self, actor: Actor, *, applications: list[NewApplication]
    ) -> CommandResult:
        """Submits many applications in one atomic save: all or nothing.

        Each is checked against the phase as the ones before it left it, so
        duplicates within the batch are refused too. `ids["application_ids"]`
        is the comma-separated list of new ids, in order.
        """
        if not applications:
            raise ValidationFailed("applications: at least one")
        rows = [_checked(n, row, len(applications)) for n, row in enumerate(applications)]
        new_ids = [str(uuid4()) for _ in rows]

        def decide() -> Decision:
            phases: dict[str, Any] = {}
            created: list[Application] = []
            for n, (row, application_id) in enumerate(zip(rows, new_ids, strict=True)):
                try:
                    phase = phases.get(row.phase_id) or self.phase(row.phase_id)
                    phases[row.phase_id] = phase
                    created.append(self._submit(actor, phase, row, application_id))
                except LedgerError as exc:
                    if len(rows) == 1:
                        raise
                    raise type(exc)(f"application {n + 1}: {exc.detail}") from None
            return Decision([*created, *phases.values()],
                            {"application_ids": ",".join(new_ids)})

        request = {"applications": [vars(row) for row in rows]}
        return self._execute(actor, "submit_applications", request, decide)

    def _submit(
        self, actor: Actor, phase: Phase, row: NewApplication, application_id: str
    ) -> Application:
        recipient = self.recipient(row.recipient_id)
        self.programme(phase.programme_id).check_open(row.submitted_on, what="submission date")
        phase.check_accepts(
            recipient_id=row.recipient_id, kind=recipient.kind, submitted_on=row.submitted_on
        )
        application = Application.start(
            Application.Submitted,
            actor,
            id=UUID(application_id),
            effective_date=row.submitted_on,
            application_id=application_id,
            programme_id=phase.programme_id,
            phase_id=phase.phase_id,
            fiscal_year=phase.fiscal_year,
            recipient_id=row.recipient_id,
            recipient_kind=recipient.kind,
            requested_amount=row.requested_amount,
            measures=row.measures or [],
            reference=row.reference,
        )
        phase.receive(
            actor,
            application_id=application_id,
            recipient_id=row.recipient_id,
            submitted_on=row.submitted_on,
        )
        return application

    def amend_application(
        self,
        actor: Actor,
        *,
        application_id: str,
        reason: str,
        requested_amount: Money | None = None,
        measures: list[dict[str, Any]] | None = None,
        amended_on: date | None = None,
    ) -> CommandResult:
        if requested_amount is None and measures is None:
            raise ValidationFailed("requested_amount and/or measures: give at least one")
        requested = (
            validate.positive(requested_amount, field="requested_amount")
            if requested_amount is not None
            else None
        )
        checked_measures = validate.measures(measures) if measures is not None else None
        reason = validate.required_reason(reason, what="amend an application")
        effective = amended_on or today()

        def decide() -> Decision:
            application = self.application(application_id)
            self.programme(application.programme_id).check_open(effective)
            application.amend(
                actor,
                requested_amount=requested if requested is not None else application.requested,
                measures=checked_measures if checked_measures is not None
                else application.measures,
                reason=reason,
                amended_on=effective,
            )
            return Decision([application], {"application_id": application_id})

        request = {"application_id": application_id, "requested_amount": str(requested),
                   "measures": checked_measures, "reason": reason, "on": amended_on}
        return self._execute(actor, "amend_application", request, decide)

    def withdraw_application(
        self, actor: Actor, *, application_id: str, reason: str, withdrawn_on: date
    ) -> CommandResult:
        reason = validate.required_reason(reason, what="withdraw an application")

        def withdraw(application: Application) -> Money:
            application.withdraw(actor, reason=reason, withdrawn_on=withdrawn_on)
            return Money.zero()

        def decide() -> Decision:
            return self._settling(actor, application_id, day=withdrawn_on, reason=reason,
                                  transition=withdraw)

        request = {"application_id": application_id, "reason": reason,
                   "withdrawn_on": withdrawn_on}
        return self._execute(actor, "withdraw_application", request, decide)

    def reject_application(
        self, actor: Actor, *, application_id: str, reason: str, decided_on: date
    ) -> CommandResult:
        reason = validate.required_reason(reason, what="reject an application")

        def reject(application: Application) -> Money:
            application.reject(actor, reason=reason, decided_on=decided_on)
            return Money.zero()

        def decide() -> Decision:
            return self._settling(actor, application_id, day=decided_on, reason=reason,
                                  transition=reject)

        request = {"application_id": application_id, "reason": reason,
                   "decided_on": decided_on}
        return self._execute(actor, "reject_application", request, decide)

    def approve_application(
        self,
        actor: Actor,
        *,
        application_id: str,
        approved_amount: Money,
        decided_on: date,
        decision_reference: str | None = None,
    ) -> CommandResult:
        """Awards the grant, committing the amount against the phase's envelope (I3)."""
        amount = validate.positive(approved_amount, field="approved_amount")
        decision_reference = validate.text(
            decision_reference, field="decision_reference", required=False, limit=200
        ) or None

        def decide() -> Decision:
            application = self.application(application_id)
            phase = self.phase(application.phase_id)
            programme = self.programme(application.programme_id)
            programme.check_open(decided_on, what="decision date")
            application.approve(
                actor,
                approved_amount=amount,
                decided_on=decided_on,
                decision_reference=decision_reference,
            )
            programme.check_year_open(phase.fiscal_year)
            phase.commit(
                actor, application_id=application_id, change=amount, decided_on=decided_on
            )
            return Decision([application, phase], {"application_id": application_id})

        request = {"application_id": application_id, "approved_amount": str(amount),
                   "decided_on": decided_on, "decision_reference": decision_reference}
        return self._execute(actor, "approve_application", request, decide)

    def amend_award(
        self,
        actor: Actor,
        *,
        application_id: str,
        new_amount: Money,
        reason: str,
        decided_on: date,
    ) -> CommandResult:
        amount = validate.positive(new_amount, field="new_amount")
        reason = validate.required_reason(reason, what="amend an award")

        def decide() -> Decision:
            application = self.application(application_id)
            phase = self.phase(application.phase_id)
            programme = self.programme(application.programme_id)
            programme.check_open(decided_on, what="decision date")
            change = application.amend_award(
                actor, new_amount=amount, reason=reason, decided_on=decided_on
            )
            if change.amount > 0:
                programme.check_year_open(phase.fiscal_year)
            phase.commit(
                actor, application_id=application_id, change=change, decided_on=decided_on
            )
            return Decision([application, phase], {"application_id": application_id})

        request = {"application_id": application_id, "new_amount": str(amount),
                   "reason": reason, "decided_on": decided_on}
        return self._execute(actor, "amend_award", request, decide)


def _checked(n: int, row: NewApplication, count: int) -> NewApplication:
    """I1 for one application, before anything is loaded."""
    try:
        return NewApplication(
            phase_id=row.phase_id,
            recipient_id=row.recipient_id,
            requested_amount=validate.positive(row.requested_amount, field="requested_amount"),
            submitted_on=validate.day(row.submitted_on, field="submitted_on"),
            reference=validate.text(row.reference, field="reference", required=False,
                                    limit=200) or None,
            measures=validate.measures(row.measures),
        )
    except ValidationFailed as exc:
        if count == 1:
            raise
        raise ValidationFailed(f"application {n + 1}: {exc.detail}") from None
