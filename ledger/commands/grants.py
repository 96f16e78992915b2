"""Handlers of the money on an awarded grant: drawdowns, payments, repayments,
proof of use, close, revoke."""

from __future__ import annotations

from ledger.commands.applications import settling
from ledger.commands.context import Context, Decision, handles
from ledger.commands.model import (
    CancelDrawdown,
    CloseApplication,
    PayDrawdown,
    RecordRepayment,
    RequestDrawdown,
    RevokeApplication,
    SubmitProofOfUse,
)
from ledger.domain.base import Actor


@handles(RequestDrawdown)
def request_drawdown(command: RequestDrawdown, actor: Actor, context: Context) -> Decision:
    """Requests a drawdown; requested plus paid stays within the award (I6)."""
    grant = context.application(command.application_id)
    context.programme(grant.programme_id).check_open(command.requested_on)
    drawdown_id = f"D{len(grant.drawdowns) + 1}"
    grant.request_drawdown(actor, drawdown_id=drawdown_id, amount=command.amount,
                           requested_on=command.requested_on)
    return Decision([grant], {"application_id": command.application_id,
                              "drawdown_id": drawdown_id}, grant)


@handles(PayDrawdown)
def pay_drawdown(command: PayDrawdown, actor: Actor, context: Context) -> Decision:
    grant = context.application(command.application_id)
    context.programme(grant.programme_id).check_open(command.paid_on, what="payment date")
    grant.pay_drawdown(actor, drawdown_id=command.drawdown_id, paid_on=command.paid_on)
    return Decision([grant], {"application_id": command.application_id,
                              "drawdown_id": command.drawdown_id}, grant)


@handles(CancelDrawdown)
def cancel_drawdown(command: CancelDrawdown, actor: Actor, context: Context) -> Decision:
    grant = context.application(command.application_id)
    # Undated (SPEC §6 gives a cancellation no date): the day it is recorded, or the
    # request's if that lies ahead (I14: never before the request).
    effective = command.cancelled_on or max(
        context.today, grant.drawdown(command.drawdown_id).requested_on)
    context.programme(grant.programme_id).check_open(effective)
    grant.cancel_drawdown(actor, drawdown_id=command.drawdown_id, reason=command.reason,
                          cancelled_on=effective)
    return Decision([grant], {"application_id": command.application_id,
                              "drawdown_id": command.drawdown_id}, grant)


@handles(RecordRepayment)
def record_repayment(command: RecordRepayment, actor: Actor, context: Context) -> Decision:
    grant = context.application(command.application_id)
    context.programme(grant.programme_id).check_open(command.received_on, what="receipt date")
    grant.receive_repayment(actor, amount=command.amount, received_on=command.received_on,
                            reason=command.reason)
    return Decision([grant], {"application_id": command.application_id}, grant)


@handles(SubmitProofOfUse)
def submit_proof_of_use(command: SubmitProofOfUse, actor: Actor, context: Context) -> Decision:
    grant = context.application(command.application_id)
    context.programme(grant.programme_id).check_open(command.submitted_on)
    grant.submit_proof_of_use(actor, spent_amount=command.spent_amount,
                              submitted_on=command.submitted_on)
    return Decision([grant], {"application_id": command.application_id}, grant)


@handles(CloseApplication)
def close_application(command: CloseApplication, actor: Actor, context: Context) -> Decision:
    """Closes the grant and releases award − paid to the phase."""
    return settling(actor, context, command.application_id, day=command.closed_on, reason=None,
                    transition=lambda grant: grant.close(actor, closed_on=command.closed_on))


@handles(RevokeApplication)
def revoke_application(command: RevokeApplication, actor: Actor, context: Context) -> Decision:
    return settling(
        actor, context, command.application_id, day=command.decided_on, reason=command.reason,
        transition=lambda grant: grant.revoke(actor, reason=command.reason,
                                              decided_on=command.decided_on))
