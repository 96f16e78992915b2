"""A grant's decisions: amend the application, withdraw, reject, approve, amend the award."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.domain.base import Actor
from ledger.domain.dates import check_not_before
from ledger.domain.grant_state import APPROVED, SUBMITTED, GrantState
from ledger.errors import BelowPaid, FourEyes
from ledger.money import Account, Money, Posting


class GrantDecisions(GrantState):
    def amend(
        self,
        actor: Actor,
        *,
        requested_amount: Money,
        measures: list[dict[str, Any]],
        reason: str,
        amended_on: date,
        dated: bool = True,
    ) -> None:
        """`dated`: `amended_on` was given (else it is the application's own date)."""
        self.check_status(SUBMITTED, action="amend")
        self.check_after_submission(amended_on, what="amendment date")
        self._emit(
            self.Amended,
            actor,
            effective_date=amended_on,
            reason=reason,
            requested_amount=requested_amount,
            measures=measures,
            dated=dated,
        )

    def withdraw(self, actor: Actor, *, reason: str, withdrawn_on: date) -> None:
        self.check_status(SUBMITTED, action="withdraw")
        self.check_after_submission(withdrawn_on, what="withdrawal date")
        # Nor before any amendment's date: a withdrawal takes the request as amended out
        # of `requested` by business date (an amendment an earlier release dated by the
        # day it was recorded holds no decision back, but this). None in a snapshot
        # taken before this was kept: then nothing to hold back by.
        check_not_before(withdrawn_on, getattr(self, "request_changed_on", None),
                         what="withdrawal date", follows="last amendment's date")
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
        self.check_after_award_changes(decided_on, what="decision date")
        floor = self.paid + self.pending
        if new_amount < floor:
            raise BelowPaid(
                f"the award of {self.application_id} cannot go below {floor} "
                f"(paid {self.paid}, requested drawdowns {self.pending})"
            )
        change = new_amount - self.awarded
        if change.amount < 0:  # I7 by business date: not below what was paid by then
            lowest, when = self.lowest_by_date(Account.outstanding(self.application_id),
                                               decided_on)
            if -change > lowest:
                raise BelowPaid(
                    f"the award of {self.application_id} cannot be cut by {-change} on "
                    f"{decided_on.isoformat()}: only {lowest} of it is unpaid by business "
                    f"date on {when} (payments dated later)")
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
