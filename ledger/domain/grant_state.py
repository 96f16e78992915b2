"""What a grant knows, and the checks and figures read from it (ledger/domain/grant.py).

`GrantState` is a base of the `Grant` aggregate: the state its events set, the
figures derived from it and the guards its commands share. The commands are split
by what they decide: `grant_decisions.py` (the application and its award) and
`grant_money.py` (drawdowns, repayments, proof of use, closure, revocation).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.domain import by_date
from ledger.domain.base import Actor
from ledger.domain.dates import check_not_before
from ledger.errors import InvalidState, NotFound
from ledger.money import Account, Money, Posting, total
from ledger.vocabulary import OPEN_STATUSES, ApplicationStatus, DrawdownStatus, MeasureCategory

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

    def __deepcopy__(self, memo: dict[int, Any]) -> Drawdown:
        # Every field is immutable (ids, Money, dates): a flat copy is a deep one, without
        # `copy.deepcopy`'s rebuilding of each date.
        return copy.copy(self)


class GrantState:
    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
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
        amended_on: date | None  # of the last amendment given a date (`amended_on`)
        request_changed_on: date | None  # of the last amendment, however it was dated
        decided_on: date | None  # of the approval
        award_changed_on: date  # of the approval or the last award amendment
        # `outstanding:A` and `paid:A` by business date (ledger/domain/by_date.py)
        by_day: dict[str, by_date.Movements]

        # The aggregate's events (Grant defines them) and LedgerAggregate's _emit.
        Amended: type[Any]
        Withdrawn: type[Any]
        Rejected: type[Any]
        Approved: type[Any]
        AwardAmended: type[Any]
        DrawdownRequested: type[Any]
        DrawdownPaid: type[Any]
        DrawdownCancelled: type[Any]
        RepaymentReceived: type[Any]
        ProofOfUseSubmitted: type[Any]
        Closed: type[Any]
        Revoked: type[Any]

        def _emit(self, event_class: type[Any], actor: Actor, *, effective_date: date,
                  reason: str | None = None, **fields: Any) -> None: ...

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

    @property
    def application_dated(self) -> date:
        """The business date of the application as it stands: its last dated amendment's,
        or its submission's."""
        return self.amended_on or self.submitted_on

    def check_after_submission(self, day: date, *, what: str) -> None:
        """I14: what is done with the application (amend, withdraw, decide) is not dated
        before its submission, nor before its last amendment given a date. (One without
        a date takes the application's own date, or took the day it was recorded before
        this release: neither holds a decision back.)"""
        check_not_before(day, self.submitted_on, what=what, follows="submission date")
        check_not_before(day, self.amended_on, what=what, follows="last amendment date")

    def check_after_award_changes(self, day: date, *, what: str) -> None:
        """I14: an award decision (an amendment) follows the last one."""
        check_not_before(day, self.award_changed_on, what=what,
                         follows="last decision on the award")

    def check_after_payments(self, day: date, *, what: str) -> None:
        """I14: a closure or revocation follows every payment made on the grant."""
        last = max((d.paid_on for d in self.drawdowns.values() if d.paid_on), default=None)
        check_not_before(day, last, what=what, follows="last payment date")

    def check_after_decision(self, day: date, *, what: str) -> None:
        """I14: what follows the award is not dated before the award decision."""
        check_not_before(day, self.decided_on, what=what, follows="award decision date")

    def lowest_by_date(self, account: str, day: date) -> tuple[Money, str]:
        """The lowest balance of this grant's `account` (`Account.outstanding(id)` or
        `Account.paid(id)`) on `day` or later, and when (ledger/domain/by_date.py)."""
        return by_date.lowest_from(self.by_day[account], day)

    def _accounts_posting(self, source: str, target: str, amount: Money) -> list[Posting]:
        return [Posting(source, target, amount)] if amount else []

    def _release_postings(self, released: Money) -> list[Posting]:
        return self._accounts_posting(
            Account.outstanding(self.application_id), Account.phase(self.phase_id), released
        )
