"""An application for a grant, and the grant it becomes when approved (SPEC §4).

The aggregate is `Grant`, so it is never confused with eventsourcing's `Application`
(the Ledger is one). Its events keep the topics they were stored under,
`ledger.domain.application:Application.<Event>`: a log written before the rename
reads and hashes the same, and the audit trail's event types stay
`Application.Submitted`, `Application.Approved`, ... (see `STORED_TOPIC` at the end).

Drawdowns, repayments and the award live inside the application, so I6 and I7
are one aggregate's rules and hold under optimistic concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import register_topic

from ledger.domain.base import Actor, LedgerAggregate
from ledger.domain.dates import check_not_before
from ledger.errors import (
    BelowPaid,
    FourEyes,
    InvalidState,
    NotFound,
    OverDrawdown,
    OverRepayment,
)
from ledger.money import Account, Money, Posting, total
from ledger.vocabulary import (
    OPEN_STATUSES,
    ApplicationStatus,
    DrawdownStatus,
    MeasureCategory,
)

SUBMITTED, APPROVED, REJECTED = (
    ApplicationStatus.SUBMITTED, ApplicationStatus.APPROVED, ApplicationStatus.REJECTED)
WITHDRAWN, CLOSED, REVOKED = (
    ApplicationStatus.WITHDRAWN, ApplicationStatus.CLOSED, ApplicationStatus.REVOKED)
OPEN_STATES = OPEN_STATUSES
MEASURE_CATEGORIES = tuple(MeasureCategory)


@dataclass
class Drawdown:
    drawdown_id: str
    amount: Money
    status: str
    requested_by: str
    requested_on: date
    paid_on: date | None = None


class Grant(LedgerAggregate):
    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        TOPIC: ClassVar[str]  # the stored topic (see STORED_TOPIC)
        application_id: str
        programme_id: str
        phase_id: str
        fiscal_year: int
        recipient_id: str
        recipient_kind: str
        status: str
        requested: Money
        measures: list[dict[str, Any]]
        reference: str | None
        recorded_by: set[str]
        awarded: Money
        paid: Money
        repaid: Money
        released: Money
        drawdowns: dict[str, Drawdown]
        proofs_of_use: list[dict[str, Any]]
        submitted_on: date
        decided_on: date | None  # of the approval

    class Submitted(LedgerAggregate.Created):
        application_id: str
        programme_id: str
        phase_id: str
        fiscal_year: int
        recipient_id: str
        recipient_kind: str
        requested_amount: Money
        measures: list[dict[str, Any]]
        reference: str | None

        def apply(self, app: Grant) -> None:
            app.application_id = self.application_id
            app.programme_id = self.programme_id
            app.phase_id = self.phase_id
            app.fiscal_year = self.fiscal_year
            app.recipient_id = self.recipient_id
            app.recipient_kind = self.recipient_kind
            app.status = SUBMITTED
            app.requested = self.requested_amount
            app.measures = list(self.measures)
            app.reference = self.reference
            app.recorded_by = {self.actor}
            zero = Money.zero()
            app.awarded = app.paid = app.repaid = app.released = zero
            app.drawdowns = {}
            app.proofs_of_use = []
            app.submitted_on = self.effective_date
            app.decided_on = None

    class Amended(LedgerAggregate.Event):
        requested_amount: Money
        measures: list[dict[str, Any]]

        def apply(self, app: Grant) -> None:
            app.requested = self.requested_amount
            app.measures = list(self.measures)
            app.recorded_by.add(self.actor)

    class Withdrawn(LedgerAggregate.Event):
        def apply(self, app: Grant) -> None:
            app.status = WITHDRAWN

    class Rejected(LedgerAggregate.Event):
        def apply(self, app: Grant) -> None:
            app.status = REJECTED

    class Approved(LedgerAggregate.Event):
        programme_id: str
        approved_amount: Money
        decision_reference: str | None
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            app.status = APPROVED
            app.awarded = self.approved_amount
            app.decided_on = self.effective_date

    class AwardAmended(LedgerAggregate.Event):
        programme_id: str
        previous_amount: Money
        new_amount: Money
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            app.awarded = self.new_amount

    class DrawdownRequested(LedgerAggregate.Event):
        drawdown_id: str
        amount: Money

        def apply(self, app: Grant) -> None:
            app.drawdowns[self.drawdown_id] = Drawdown(
                self.drawdown_id, self.amount, DrawdownStatus.REQUESTED, self.actor,
                self.effective_date,
            )

    class DrawdownPaid(LedgerAggregate.Event):
        programme_id: str
        drawdown_id: str
        amount: Money
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            drawdown = app.drawdowns[self.drawdown_id]
            drawdown.status = DrawdownStatus.PAID
            drawdown.paid_on = self.effective_date
            app.paid = app.paid + self.amount

    class DrawdownCancelled(LedgerAggregate.Event):
        drawdown_id: str

        def apply(self, app: Grant) -> None:
            app.drawdowns[self.drawdown_id].status = DrawdownStatus.CANCELLED

    class RepaymentReceived(LedgerAggregate.Event):
        programme_id: str
        amount: Money
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            app.repaid = app.repaid + self.amount

    class ProofOfUseSubmitted(LedgerAggregate.Event):
        spent_amount: Money

        def apply(self, app: Grant) -> None:
            app.proofs_of_use.append(
                {"submitted_on": self.effective_date, "spent_amount": self.spent_amount}
            )

    class Closed(LedgerAggregate.Event):
        programme_id: str
        released: Money
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            app.status = CLOSED
            app.released = app.released + self.released

    class Revoked(LedgerAggregate.Event):
        programme_id: str
        released: Money
        cancelled_drawdowns: list[str]
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            app.status = REVOKED
            app.released = app.released + self.released
            for drawdown_id in self.cancelled_drawdowns:
                app.drawdowns[drawdown_id].status = DrawdownStatus.CANCELLED

    # -- figures -------------------------------------------------------------

    @property
    def pending(self) -> Money:
        return total(d.amount for d in self.drawdowns.values()
                     if d.status == DrawdownStatus.REQUESTED)

    @property
    def outstanding(self) -> Money:
        """Balance of `outstanding:A`: awarded, not paid and not released."""
        return self.awarded - self.released - self.paid

    @property
    def net_paid(self) -> Money:
        return self.paid - self.repaid

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def first_paid_on(self) -> date | None:
        return min((d.paid_on for d in self.drawdowns.values() if d.paid_on), default=None)

    # -- guards --------------------------------------------------------------

    def check_status(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise InvalidState(
                f"cannot {action} application {self.application_id}: it is {self.status}"
            )

    def drawdown(self, drawdown_id: str) -> Drawdown:
        try:
            return self.drawdowns[drawdown_id]
        except KeyError:
            raise NotFound(
                f"application {self.application_id} has no drawdown {drawdown_id}"
            ) from None

    def check_after_submission(self, day: date, *, what: str) -> None:
        """I14: a decision on the application is not dated before its submission."""
        check_not_before(day, self.submitted_on, what=what, follows="submission date")

    def check_after_decision(self, day: date, *, what: str) -> None:
        """I14: what follows the award is not dated before the award decision."""
        check_not_before(day, self.decided_on, what=what, follows="award decision date")

    def _accounts_posting(self, source: str, target: str, amount: Money) -> list[Posting]:
        return [Posting(source, target, amount)] if amount else []

    # -- commands ------------------------------------------------------------

    def amend(
        self,
        actor: Actor,
        *,
        requested_amount: Money,
        measures: list[dict[str, Any]],
        reason: str,
        amended_on: date,
    ) -> None:
        self.check_status(SUBMITTED, action="amend")
        self._emit(
            self.Amended,
            actor,
            effective_date=amended_on,
            reason=reason,
            requested_amount=requested_amount,
            measures=measures,
        )

    def withdraw(self, actor: Actor, *, reason: str, withdrawn_on: date) -> None:
        self.check_status(SUBMITTED, action="withdraw")
        self._emit(self.Withdrawn, actor, effective_date=withdrawn_on, reason=reason)

    def reject(self, actor: Actor, *, reason: str, decided_on: date) -> None:
        self.check_status(SUBMITTED, action="reject")
        self._check_four_eyes(actor)
        self.check_after_submission(decided_on, what="decision date")
        self._emit(self.Rejected, actor, effective_date=decided_on, reason=reason)

    def _check_four_eyes(self, actor: Actor) -> None:
        if actor.user in self.recorded_by:
            raise FourEyes(
                f"{actor.user} recorded or amended application {self.application_id} "
                "and may not decide on it"
            )

    def approve(
        self,
        actor: Actor,
        *,
        approved_amount: Money,
        decided_on: date,
        decision_reference: str | None,
    ) -> None:
        self.check_status(SUBMITTED, action="approve")
        self._check_four_eyes(actor)
        self.check_after_submission(decided_on, what="decision date")
        self._emit(
            self.Approved,
            actor,
            effective_date=decided_on,
            programme_id=self.programme_id,
            approved_amount=approved_amount,
            decision_reference=decision_reference,
            postings=[
                Posting(
                    Account.phase(self.phase_id),
                    Account.outstanding(self.application_id),
                    approved_amount,
                )
            ],
        )

    def amend_award(
        self, actor: Actor, *, new_amount: Money, reason: str, decided_on: date
    ) -> Money:
        """Returns the change of the award (positive: increase)."""
        self.check_status(APPROVED, action="amend the award of")
        self.check_after_decision(decided_on, what="decision date")
        floor = self.paid + self.pending
        if new_amount < floor:
            raise BelowPaid(
                f"the award of {self.application_id} cannot go below {floor} "
                f"(paid {self.paid}, requested drawdowns {self.pending})"
            )
        change = new_amount - self.awarded
        phase, outstanding = (
            Account.phase(self.phase_id),
            Account.outstanding(self.application_id),
        )
        postings = (
            self._accounts_posting(phase, outstanding, change)
            if change.amount > 0
            else self._accounts_posting(outstanding, phase, -change)
        )
        self._emit(
            self.AwardAmended,
            actor,
            effective_date=decided_on,
            reason=reason,
            programme_id=self.programme_id,
            previous_amount=self.awarded,
            new_amount=new_amount,
            postings=postings,
        )
        return change

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
        if self.pending:
            raise InvalidState(
                f"application {self.application_id} has requested drawdowns "
                f"({self.pending}); pay or cancel them before closing"
            )
        released = self.outstanding
        self._emit(
            self.Closed,
            actor,
            effective_date=closed_on,
            programme_id=self.programme_id,
            released=released,
            postings=self._release_postings(released),
        )
        return released

    def revoke(self, actor: Actor, *, reason: str, decided_on: date) -> Money:
        """Revokes the grant, cancels requested drawdowns, releases the residual."""
        self.check_status(APPROVED, action="revoke")
        self.check_after_decision(decided_on, what="revocation date")
        released = self.outstanding
        pending = [d.drawdown_id for d in self.drawdowns.values()
                   if d.status == DrawdownStatus.REQUESTED]
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

    def _release_postings(self, released: Money) -> list[Posting]:
        return self._accounts_posting(
            Account.outstanding(self.application_id), Account.phase(self.phase_id), released
        )


# The topic every event of a grant has been stored under since the first release. The
# class and its events carry it as eventsourcing's TOPIC (construct_topic), and it is
# registered so that resolving a stored topic never imports the module it names.
STORED_TOPIC = "ledger.domain.application:Application"
Grant.TOPIC = STORED_TOPIC
for _name, _value in vars(Grant).items():
    if isinstance(_value, type) and issubclass(_value, CanMutateAggregate):
        # an attribute eventsourcing reads, not one the event classes declare
        setattr(_value, "TOPIC", f"{STORED_TOPIC}.{_name}")  # noqa: B010
register_topic(STORED_TOPIC, Grant)
