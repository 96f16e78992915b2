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

from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import register_topic

from ledger.domain import by_date
from ledger.domain.base import LedgerAggregate
from ledger.domain.grant_decisions import GrantDecisions
from ledger.domain.grant_money import GrantMoney
from ledger.domain.grant_state import (
    APPROVED,
    CLOSED,
    REJECTED,
    REVOKED,
    SUBMITTED,
    WITHDRAWN,
    Drawdown,
)
from ledger.money import Account, Money, Posting
from ledger.vocabulary import DrawdownStatus


class Grant(GrantDecisions, GrantMoney, LedgerAggregate):
    """An application and the grant it becomes. Here: its events, each applying itself
    to the state declared in grant_state.py; its commands come from the two bases."""

    if TYPE_CHECKING:
        TOPIC: ClassVar[str]  # the stored topic (see STORED_TOPIC)

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
            app.amended_on = app.request_changed_on = None
            app.decided_on = None
            app.by_day = {Account.outstanding(self.application_id): {},
                          Account.paid(self.application_id): {}}

    class Amended(LedgerAggregate.Event):
        requested_amount: Money
        measures: list[dict[str, Any]]
        # True when the amendment was given its date (`amended_on`), or took the day it
        # was recorded because the application's own date lies in a closed fiscal year:
        # later steps follow it (I14). Else it is dated by the application (or, by an
        # earlier release, by the day recorded) and holds nothing back.
        dated: bool = False

        def apply(self, app: Grant) -> None:
            app.requested = self.requested_amount
            app.measures = list(self.measures)
            app.recorded_by.add(self.actor)
            if self.dated:
                app.amended_on = self.effective_date
            app.request_changed_on = self.effective_date  # whatever dated it

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
            app.decided_on = app.award_changed_on = self.effective_date
            by_date.record_postings(app.by_day, self.effective_date, self.postings)

    class AwardAmended(LedgerAggregate.Event):
        programme_id: str
        previous_amount: Money
        new_amount: Money
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            app.awarded = self.new_amount
            app.award_changed_on = self.effective_date
            by_date.record_postings(app.by_day, self.effective_date, self.postings)

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
            by_date.record_postings(app.by_day, self.effective_date, self.postings)

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
            by_date.record_postings(app.by_day, self.effective_date, self.postings)

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
            by_date.record_postings(app.by_day, self.effective_date, self.postings)

    class Revoked(LedgerAggregate.Event):
        programme_id: str
        released: Money
        cancelled_drawdowns: list[str]
        postings: list[Posting]

        def apply(self, app: Grant) -> None:
            app.status = REVOKED
            app.released = app.released + self.released
            by_date.record_postings(app.by_day, self.effective_date, self.postings)
            for drawdown_id in self.cancelled_drawdowns:
                app.drawdowns[drawdown_id].status = DrawdownStatus.CANCELLED


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
