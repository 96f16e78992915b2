"""Money on an awarded grant: drawdowns, payments, repayments, proof of use, close, revoke."""

from __future__ import annotations

from datetime import date

from ledger.commands import validate
from ledger.core import CommandResult, Decision, LedgerCore, today
from ledger.domain.base import Actor
from ledger.money import Money


class GrantCommands(LedgerCore):
    def request_drawdown(
        self, actor: Actor, *, application_id: str, amount: Money, requested_on: date
    ) -> CommandResult:
        """Requests a drawdown; requested plus paid stays within the award (I6)."""
        amount = validate.positive(amount, field="amount")

        def decide() -> Decision:
            application = self.application(application_id)
            self.programme(application.programme_id).check_open(requested_on)
            drawdown_id = f"D{len(application.drawdowns) + 1}"
            application.request_drawdown(
                actor, drawdown_id=drawdown_id, amount=amount, requested_on=requested_on
            )
            return Decision(
                [application], {"application_id": application_id, "drawdown_id": drawdown_id}
            )

        request = {"application_id": application_id, "amount": str(amount),
                   "requested_on": requested_on}
        return self._execute(actor, "request_drawdown", request, decide)

    def pay_drawdown(
        self, actor: Actor, *, application_id: str, drawdown_id: str, paid_on: date
    ) -> CommandResult:
        def decide() -> Decision:
            application = self.application(application_id)
            self.programme(application.programme_id).check_open(paid_on, what="payment date")
            application.pay_drawdown(actor, drawdown_id=drawdown_id, paid_on=paid_on)
            return Decision(
                [application], {"application_id": application_id, "drawdown_id": drawdown_id}
            )

        request = {"application_id": application_id, "drawdown_id": drawdown_id,
                   "paid_on": paid_on}
        return self._execute(actor, "pay_drawdown", request, decide)

    def cancel_drawdown(
        self,
        actor: Actor,
        *,
        application_id: str,
        drawdown_id: str,
        reason: str,
        cancelled_on: date | None = None,
    ) -> CommandResult:
        reason = validate.required_reason(reason, what="cancel a drawdown")
        effective = cancelled_on or today()

        def decide() -> Decision:
            application = self.application(application_id)
            self.programme(application.programme_id).check_open(effective)
            application.cancel_drawdown(
                actor, drawdown_id=drawdown_id, reason=reason, cancelled_on=effective
            )
            return Decision(
                [application], {"application_id": application_id, "drawdown_id": drawdown_id}
            )

        request = {"application_id": application_id, "drawdown_id": drawdown_id,
                   "reason": reason, "on": cancelled_on}
        return self._execute(actor, "cancel_drawdown", request, decide)

    def record_repayment(
        self,
        actor: Actor,
        *,
        application_id: str,
        amount: Money,
        received_on: date,
        reason: str,
    ) -> CommandResult:
        amount = validate.positive(amount, field="amount")
        reason = validate.required_reason(reason, what="book a repayment")

        def decide() -> Decision:
            application = self.application(application_id)
            self.programme(application.programme_id).check_open(received_on, what="receipt date")
            application.receive_repayment(
                actor, amount=amount, received_on=received_on, reason=reason
            )
            return Decision([application], {"application_id": application_id})

        request = {"application_id": application_id, "amount": str(amount),
                   "received_on": received_on, "reason": reason}
        return self._execute(actor, "record_repayment", request, decide)

    def submit_proof_of_use(
        self, actor: Actor, *, application_id: str, spent_amount: Money, submitted_on: date
    ) -> CommandResult:
        spent = validate.positive(spent_amount, field="spent_amount")

        def decide() -> Decision:
            application = self.application(application_id)
            self.programme(application.programme_id).check_open(submitted_on)
            application.submit_proof_of_use(actor, spent_amount=spent, submitted_on=submitted_on)
            return Decision([application], {"application_id": application_id})

        request = {"application_id": application_id, "spent_amount": str(spent),
                   "submitted_on": submitted_on}
        return self._execute(actor, "submit_proof_of_use", request, decide)

    def close_application(
        self, actor: Actor, *, application_id: str, closed_on: date
    ) -> CommandResult:
        """Closes the grant and releases award − paid to the phase."""

        def decide() -> Decision:
            return self._settling(
                actor, application_id, day=closed_on, reason=None,
                transition=lambda application: application.close(actor, closed_on=closed_on),
            )

        request = {"application_id": application_id, "closed_on": closed_on}
        return self._execute(actor, "close_application", request, decide)

    def revoke_application(
        self, actor: Actor, *, application_id: str, reason: str, decided_on: date
    ) -> CommandResult:
        reason = validate.required_reason(reason, what="revoke a grant")

        def decide() -> Decision:
            return self._settling(
                actor, application_id, day=decided_on, reason=reason,
                transition=lambda application: application.revoke(
                    actor, reason=reason, decided_on=decided_on),
            )

        request = {"application_id": application_id, "reason": reason,
                   "decided_on": decided_on}
        return self._execute(actor, "revoke_application", request, decide)
