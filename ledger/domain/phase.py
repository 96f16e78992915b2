"""A funding phase (call): its envelope, eligibility, and who holds open applications.

Awards are committed against the phase here, so I3 (awards ≤ envelope) and I4
(one open application per recipient) are one aggregate's rules: two concurrent
approvals both write the next version of the phase, and one of them must retry.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.domain import by_date
from ledger.domain.base import Actor, LedgerAggregate, entity_uuid
from ledger.errors import AwardAboveRequest, BudgetExceeded, DuplicateApplication, NotEligible
from ledger.money import Money
from ledger.vocabulary import RecipientKind

RECIPIENT_KINDS = tuple(RecipientKind)


class Phase(LedgerAggregate):
    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        phase_id: str
        programme_id: str
        name: str
        fiscal_year: int
        envelope: Money
        opens_on: date
        closes_on: date
        eligible_kinds: list[str]
        max_open_per_recipient: int
        allow_award_above_request: bool
        committed: Money
        open_applications: dict[str, tuple[str, ...]]
        # `phase:P` by business date (ledger/domain/by_date.py): the envelope on its
        # opening day, each award and release on its date. A snapshot taken before it was
        # kept is stale and never restored: the fold of the events stands in for it
        # (ledger/persistence/snapshots.py LATER_FIELDS).
        by_day: by_date.Movements

    @staticmethod
    def id_for(phase_id: str) -> UUID:
        return entity_uuid("phase", phase_id)

    class Opened(LedgerAggregate.Created):
        phase_id: str
        programme_id: str
        name: str
        fiscal_year: int
        envelope: Money
        opens_on: date
        closes_on: date
        eligible_kinds: list[str]
        max_open_per_recipient: int
        # I15; phases opened before it was recorded allow no award above the request.
        allow_award_above_request: bool = False
        # The day the budget funded the envelope, when its money came after the opening
        # day (Programme.fund_phase); None: on the opening day.
        funded_on: date | None = None
        planned = True  # dated by the planned opening day: I13's window does not bound it

        def apply(self, phase: Phase) -> None:
            phase.phase_id = self.phase_id
            phase.programme_id = self.programme_id
            phase.name = self.name
            phase.fiscal_year = self.fiscal_year
            phase.envelope = self.envelope
            phase.opens_on = self.opens_on
            phase.closes_on = self.closes_on
            phase.eligible_kinds = list(self.eligible_kinds)
            phase.max_open_per_recipient = self.max_open_per_recipient
            phase.allow_award_above_request = self.allow_award_above_request
            phase.committed = Money.zero()
            phase.open_applications = {}
            phase.by_day = {}
            by_date.record(phase.by_day, self.funded_on or self.effective_date, self.envelope)

    class ApplicationReceived(LedgerAggregate.Event):
        application_id: str
        recipient_id: str

        def apply(self, phase: Phase) -> None:
            held = phase.open_applications.get(self.recipient_id, ())
            phase.open_applications[self.recipient_id] = (*held, self.application_id)

    class CommitmentChanged(LedgerAggregate.Event):
        """The phase's share of an award decision; the postings live on the
        application's event, this one only keeps the envelope consistent."""

        application_id: str
        change: Money

        def apply(self, phase: Phase) -> None:
            phase.committed = phase.committed + self.change
            by_date.record(phase.by_day, self.effective_date, -self.change)

    class ApplicationSettled(LedgerAggregate.Event):
        """The application left the open states (withdrawn, rejected, closed, revoked)."""

        application_id: str
        recipient_id: str
        released: Money

        def apply(self, phase: Phase) -> None:
            held = phase.open_applications.pop(self.recipient_id, ())
            remaining = tuple(a for a in held if a != self.application_id)
            if remaining:
                phase.open_applications[self.recipient_id] = remaining
            phase.committed = phase.committed - self.released
            if self.released:
                by_date.record(phase.by_day, self.effective_date, self.released)

    def __deepcopy__(self, memo: dict[int, object]) -> Phase:
        """The repository deep-copies cached aggregates on every command; the
        phase holds one entry per recipient, so copy only what is mutable
        (the dict and list; its values are immutable tuples, Money and dates)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.open_applications = dict(self.open_applications)
        clone.eligible_kinds = list(self.eligible_kinds)
        clone.by_day = dict(self.by_day)
        clone.__dict__["_pending_events"] = list(self.pending_events)
        return clone

    @property
    def available(self) -> Money:
        return self.envelope - self.committed

    def check_accepts(self, *, recipient_id: str, kind: str, submitted_on: date) -> None:
        if kind not in self.eligible_kinds:
            raise NotEligible(
                f"recipients of kind {kind} are not eligible in phase {self.phase_id} "
                f"(eligible: {', '.join(self.eligible_kinds)})"
            )
        if not self.opens_on <= submitted_on <= self.closes_on:
            raise NotEligible(
                f"phase {self.phase_id} is open from {self.opens_on.isoformat()} to "
                f"{self.closes_on.isoformat()}, not on {submitted_on.isoformat()}"
            )
        open_ids = self.open_applications.get(recipient_id, ())
        if len(open_ids) >= self.max_open_per_recipient:
            raise DuplicateApplication(
                f"recipient {recipient_id} already has an open application in phase "
                f"{self.phase_id}: {', '.join(open_ids)}"
            )

    def check_available(self, amount: Money) -> None:
        if amount > self.available:
            raise BudgetExceeded(
                f"committing {amount} more (the award, or its increase) exceeds what is "
                f"left of the envelope of phase {self.phase_id} ({self.available} available)"
            )

    def check_available_on(self, amount: Money, day: date) -> None:
        """I3 by business date: an award dated `day` fits what the envelope held on that
        day and every later one (not money released by a grant closed later)."""
        lowest, when = by_date.lowest_from(self.by_day, day)
        if amount > lowest:
            raise BudgetExceeded(
                f"committing {amount} more (the award, or its increase) on {day.isoformat()} "
                f"exceeds what is left of the envelope of phase {self.phase_id} by business "
                f"date: {lowest} on {when} "
                "(the money it needs is released later)")

    def check_award(self, *, approved: Money, requested: Money) -> None:
        """I15: no award above the amount applied for, unless the phase allows it."""
        if approved.amount > requested.amount and not getattr(
                self, "allow_award_above_request", False):  # not in snapshots before I15
            raise AwardAboveRequest(
                f"approved_amount {approved} is above the {requested} applied for; phase "
                f"{self.phase_id} does not allow awards above the request (an award "
                f"amendment may raise it later)")

    def receive(
        self, actor: Actor, *, application_id: str, recipient_id: str, submitted_on: date
    ) -> None:
        self._emit(
            self.ApplicationReceived,
            actor,
            effective_date=submitted_on,
            application_id=application_id,
            recipient_id=recipient_id,
        )

    def commit(
        self, actor: Actor, *, application_id: str, change: Money, decided_on: date
    ) -> None:
        if change.amount > 0:
            self.check_available(change)
            self.check_available_on(change, decided_on)
        self._emit(
            self.CommitmentChanged,
            actor,
            effective_date=decided_on,
            application_id=application_id,
            change=change,
        )

    def settle(
        self,
        actor: Actor,
        *,
        application_id: str,
        recipient_id: str,
        released: Money,
        effective_date: date,
        reason: str | None,
    ) -> None:
        self._emit(
            self.ApplicationSettled,
            actor,
            effective_date=effective_date,
            reason=reason,
            application_id=application_id,
            recipient_id=recipient_id,
            released=released,
        )
