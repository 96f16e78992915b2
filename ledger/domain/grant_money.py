"""A grant's money after the award: drawdowns, repayments, proof of use, closure and
revocation (which release what is left of the award to the phase)."""

from __future__ import annotations

from datetime import date

from ledger.domain.base import Actor
from ledger.domain.dates import check_not_before
from ledger.domain.grant_state import APPROVED, CLOSED, REVOKED, GrantState
from ledger.errors import DateOrder, FourEyes, InvalidState, OverDrawdown, OverRepayment
from ledger.money import Account, Money, Posting
from ledger.vocabulary import DrawdownStatus


class GrantMoney(GrantState):
    def request_drawdown(
        self, actor: Actor, *, drawdown_id: str, amount: Money, requested_on: date
    ) -> None:
        self.check_status(APPROVED, action="request a drawdown on")
        self.check_after_decision(requested_on, what="drawdown request date")
        room = self.awarded - self.paid - self.pending
        if amount > room:
            raise OverDrawdown(
                f"a drawdown of {amount} exceeds what is left of the award of "
                f"{self.application_id} ({room}: award {self.awarded}, paid "
                f"{self.paid}, requested {self.pending})"
            )
        self._emit(
            self.DrawdownRequested,
            actor,
            effective_date=requested_on,
            drawdown_id=drawdown_id,
            amount=amount,
        )

    def pay_drawdown(self, actor: Actor, *, drawdown_id: str, paid_on: date) -> None:
        drawdown = self.drawdown(drawdown_id)
        if drawdown.status != DrawdownStatus.REQUESTED:
            raise InvalidState(f"drawdown {drawdown_id} is {drawdown.status}, not requested")
        if actor.user == drawdown.requested_by:
            raise FourEyes(f"{actor.user} requested drawdown {drawdown_id} and may not pay it")
        check_not_before(paid_on, drawdown.requested_on, what="payment date",
                         follows=f"request date of drawdown {drawdown_id}")
        lowest, when = self.lowest_by_date(Account.outstanding(self.application_id), paid_on)
        if drawdown.amount > lowest:  # I6 by business date: paid from what was awarded then
            raise OverDrawdown(
                f"drawdown {drawdown_id} of {drawdown.amount} paid on {paid_on.isoformat()} "
                f"exceeds what of the award of {self.application_id} is not yet paid by "
                f"business date: {lowest} on {when} (the award dated later)")
        self._emit(
            self.DrawdownPaid,
            actor,
            effective_date=paid_on,
            programme_id=self.programme_id,
            drawdown_id=drawdown_id,
            amount=drawdown.amount,
            postings=[
                Posting(
                    Account.outstanding(self.application_id),
                    Account.paid(self.application_id),
                    drawdown.amount,
                )
            ],
        )

    def cancel_drawdown(
        self, actor: Actor, *, drawdown_id: str, reason: str, cancelled_on: date
    ) -> None:
        drawdown = self.drawdown(drawdown_id)
        if drawdown.status != DrawdownStatus.REQUESTED:
            raise InvalidState(f"drawdown {drawdown_id} is {drawdown.status}, not requested")
        check_not_before(cancelled_on, drawdown.requested_on, what="cancellation date",
                         follows=f"request date of drawdown {drawdown_id}")
        self._emit(
            self.DrawdownCancelled,
            actor,
            effective_date=cancelled_on,
            reason=reason,
            drawdown_id=drawdown_id,
        )

    def receive_repayment(
        self, actor: Actor, *, amount: Money, received_on: date, reason: str
    ) -> None:
        self.check_status(APPROVED, CLOSED, REVOKED, action="book a repayment on")
        check_not_before(received_on, self.first_paid_on, what="repayment date",
                         follows="first payment date")
        if amount > self.net_paid:
            raise OverRepayment(
                f"a repayment of {amount} exceeds the net paid {self.net_paid} "
                f"of {self.application_id}"
            )
        lowest, when = self.lowest_by_date(Account.paid(self.application_id), received_on)
        if amount > lowest:  # I7 by business date: repaid from what was paid by then
            raise OverRepayment(
                f"a repayment of {amount} received on {received_on.isoformat()} exceeds "
                f"the net paid of {self.application_id} by business date: {lowest} on "
                f"{when} (the payments dated later)")
        self._emit(
            self.RepaymentReceived,
            actor,
            effective_date=received_on,
            reason=reason,
            programme_id=self.programme_id,
            amount=amount,
            postings=[
                Posting(
                    Account.paid(self.application_id),
                    Account.repaid(received_on.year),
                    amount,
                )
            ],
        )

    def submit_proof_of_use(
        self, actor: Actor, *, spent_amount: Money, submitted_on: date
    ) -> None:
        self.check_status(APPROVED, CLOSED, action="submit a proof of use for")
        self.check_after_decision(submitted_on, what="proof of use date")
        self._emit(
            self.ProofOfUseSubmitted,
            actor,
            effective_date=submitted_on,
            spent_amount=spent_amount,
        )

    def close(self, actor: Actor, *, closed_on: date) -> Money:
        """Closes the grant and returns the residual released to the phase."""
        self.check_status(APPROVED, action="close")
        self.check_after_decision(closed_on, what="closure date")
        self.check_after_payments(closed_on, what="closure date")
        if self.pending:
            raise InvalidState(
                f"application {self.application_id} has requested drawdowns "
                f"({self.pending}); pay or cancel them before closing"
            )
        released = self.outstanding
        self._check_release_on(released, closed_on, what="closure date")
        self._emit(
            self.Closed,
            actor,
            effective_date=closed_on,
            programme_id=self.programme_id,
            released=released,
            postings=self._release_postings(released),
        )
        return released

    def _check_release_on(self, released: Money, day: date, *, what: str) -> None:
        """I14 by business date: the residual released on `day` was awarded by then (an
        award raised on a later date cannot be released before it)."""
        lowest, when = self.lowest_by_date(Account.outstanding(self.application_id), day)
        if released > lowest:
            raise DateOrder(
                f"{what} {day.isoformat()}: of the {released} it would release, only "
                f"{lowest} of the award of {self.application_id} is unpaid by business "
                f"date on {when} (the award was raised later)")

    def revoke(self, actor: Actor, *, reason: str, decided_on: date) -> Money:
        """Revokes the grant, cancels requested drawdowns, releases the residual."""
        self.check_status(APPROVED, action="revoke")
        self.check_after_decision(decided_on, what="revocation date")
        self.check_after_payments(decided_on, what="revocation date")
        released = self.outstanding
        self._check_release_on(released, decided_on, what="revocation date")
        pending = [d.drawdown_id for d in self.drawdowns.values()
                   if d.status == DrawdownStatus.REQUESTED]
        for drawdown_id in pending:  # the revocation cancels them on its date
            check_not_before(decided_on, self.drawdowns[drawdown_id].requested_on,
                             what="revocation date",
                             follows=f"request date of drawdown {drawdown_id}")
        self._emit(
            self.Revoked,
            actor,
            effective_date=decided_on,
            reason=reason,
            programme_id=self.programme_id,
            released=released,
            cancelled_drawdowns=pending,
            postings=self._release_postings(released),
        )
        return released
