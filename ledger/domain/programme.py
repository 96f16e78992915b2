"""A grant programme and its yearly budgets (SPEC §3: appropriation, unallocated, direct, lapse)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.domain import by_date
from ledger.domain.base import Actor, LedgerAggregate, entity_uuid
from ledger.domain.dates import check_not_before
from ledger.errors import BudgetExceeded, DateOrder, FiscalYearClosed, InvalidState, NotFound
from ledger.money import Account, Money, Posting


@dataclass
class YearBudget:
    """The running figures of one fiscal year of a programme."""

    appropriation: Money
    carried_in: Money
    funded: Money
    direct: Money
    lapsed: Money
    carried_out: Money
    closed: bool = False
    appropriated: bool = False
    # `unallocated:Y`'s change on each business date (ledger/domain/by_date.py): money
    # is not spent or cut on a day before it was there.
    movements: by_date.Movements = field(default_factory=dict)
    changed_on: date | None = None  # of the appropriation or the last amendment (I14)

    @classmethod
    def empty(cls) -> YearBudget:
        zero = Money.zero()
        return cls(zero, zero, zero, zero, zero, zero)

    @property
    def unallocated(self) -> Money:
        return (
            self.appropriation
            + self.carried_in
            - self.funded
            - self.direct
            - self.lapsed
            - self.carried_out
        )


class Programme(LedgerAggregate):
    """Owns every posting on `appropriation:Y`, `unallocated:Y`, `direct:Y`, `lapsed:Y`.

    Phase funding and direct expenditure are decided here, so I2 (≤ the year's
    budget) is one aggregate's rule and holds under optimistic concurrency.
    """

    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        programme_id: str
        name: str
        funder: str
        years: dict[int, YearBudget]

    @staticmethod
    def id_for(programme_id: str) -> UUID:
        return entity_uuid("programme", programme_id)

    class Registered(LedgerAggregate.Created):
        programme_id: str
        name: str
        funder: str

        def apply(self, programme: Programme) -> None:
            programme.programme_id = self.programme_id
            programme.name = self.name
            programme.funder = self.funder
            programme.years = {}

    class BudgetAppropriated(LedgerAggregate.Event):
        fiscal_year: int
        amount: Money
        postings: list[Posting]

        def apply(self, programme: Programme) -> None:
            year = programme.year(self.fiscal_year)
            year.appropriation = year.appropriation + self.amount
            year.appropriated = True
            year.changed_on = self.effective_date
            programme.record_unallocated(self.effective_date, self.postings)

    class BudgetAmended(LedgerAggregate.Event):
        fiscal_year: int
        previous_amount: Money
        new_amount: Money
        postings: list[Posting]

        def apply(self, programme: Programme) -> None:
            programme.year(self.fiscal_year).appropriation = self.new_amount
            programme.year(self.fiscal_year).changed_on = self.effective_date
            programme.record_unallocated(self.effective_date, self.postings)

    class DirectExpenditureRecorded(LedgerAggregate.Event):
        fiscal_year: int
        amount: Money
        payee: str
        purpose: str
        postings: list[Posting]

        def apply(self, programme: Programme) -> None:
            year = programme.year(self.fiscal_year)
            year.direct = year.direct + self.amount
            programme.record_unallocated(self.effective_date, self.postings)

    class PhaseFunded(LedgerAggregate.Event):
        fiscal_year: int
        phase_id: str
        amount: Money
        postings: list[Posting]
        planned = True  # dated by the phase's opening day (a plan: may lie later) or after

        def apply(self, programme: Programme) -> None:
            year = programme.year(self.fiscal_year)
            year.funded = year.funded + self.amount
            programme.record_unallocated(self.effective_date, self.postings)

    class FiscalYearClosed(LedgerAggregate.Event):
        fiscal_year: int
        lapsed: Money
        carried_over: Money
        postings: list[Posting]

        def apply(self, programme: Programme) -> None:
            year = programme.year(self.fiscal_year)
            year.lapsed = year.lapsed + self.lapsed
            year.carried_out = year.carried_out + self.carried_over
            year.closed = True
            following = programme.year(self.fiscal_year + 1)
            following.carried_in = following.carried_in + self.carried_over
            programme.record_unallocated(self.effective_date, self.postings)

    # -- queries -----------------------------------------------------------

    def year(self, fiscal_year: int) -> YearBudget:
        return self.years.setdefault(fiscal_year, YearBudget.empty())

    def record_unallocated(self, day: date, postings: list[Posting]) -> None:
        """Notes what `postings`, effective on `day`, move into or out of each year's
        `unallocated:Y` (YearBudget.movements)."""
        accounts = {account: self.year(int(account.partition(":")[2])).movements
                    for posting in postings for account in (posting.source, posting.target)
                    if account.startswith("unallocated:")}
        by_date.record_postings(accounts, day, postings)

    def budget(self, fiscal_year: int) -> YearBudget:
        """The year's budget: its appropriation, or a carry-in alone (SPEC I2: a year's
        budget "+ carry-in"; money carried into a year without an appropriation of its
        own is spent, funded and closed like any other)."""
        budget = self.years.get(fiscal_year)
        if budget is None or not (budget.appropriated or budget.carried_in):
            raise NotFound(
                f"programme {self.programme_id} has no budget for {fiscal_year}"
            )
        return budget

    def is_closed(self, fiscal_year: int) -> bool:
        budget = self.years.get(fiscal_year)
        return budget is not None and budget.closed

    def check_open(self, day: date, *, what: str = "date") -> None:
        """I10: nothing may take effect in a closed fiscal year."""
        if self.is_closed(day.year):
            raise FiscalYearClosed(
                f"fiscal year {day.year} of programme {self.programme_id} is closed "
                f"({what} {day.isoformat()})"
            )

    def check_year_open(self, fiscal_year: int) -> None:
        if self.is_closed(fiscal_year):
            raise FiscalYearClosed(
                f"fiscal year {fiscal_year} of programme {self.programme_id} is closed"
            )

    def _check_unallocated(self, fiscal_year: int, amount: Money, *, what: str,
                           on: date | None = None) -> None:
        """I2, now and (given `on`) by business date: `amount` taken out of the year's
        budget on `on` leaves it ≥ 0 on that day and every later one."""
        year = self.year(fiscal_year)
        available = year.unallocated
        if amount > available:
            raise BudgetExceeded(
                f"{what} of {amount} exceeds the unallocated budget of "
                f"{fiscal_year} ({available} available)"
            )
        if on is None:
            return
        lowest, when = by_date.lowest_from(year.movements, on)
        if amount > lowest:
            raise BudgetExceeded(
                f"{what} of {amount} on {on.isoformat()} exceeds the unallocated budget of "
                f"{fiscal_year} by business date: it holds {lowest} on {when} "
                "(its money is dated later)"
            )

    # -- commands ----------------------------------------------------------

    def appropriate(
        self, actor: Actor, *, fiscal_year: int, amount: Money, effective_date: date
    ) -> None:
        self.check_year_open(fiscal_year)
        self.check_open(effective_date, what="effective date")
        if self.year(fiscal_year).appropriated:
            raise InvalidState(
                f"fiscal year {fiscal_year} already has a budget; amend it instead"
            )
        self._emit(
            self.BudgetAppropriated,
            actor,
            effective_date=effective_date,
            fiscal_year=fiscal_year,
            amount=amount,
            postings=[
                Posting(
                    Account.appropriation(fiscal_year),
                    Account.unallocated(fiscal_year),
                    amount,
                )
            ],
        )

    def amend_budget(
        self,
        actor: Actor,
        *,
        fiscal_year: int,
        new_amount: Money,
        reason: str,
        effective_date: date,
    ) -> None:
        budget = self.budget(fiscal_year)
        self.check_year_open(fiscal_year)
        if not budget.appropriated:  # a carry-in alone: nothing to amend yet
            raise InvalidState(
                f"fiscal year {fiscal_year} of programme {self.programme_id} has no "
                f"appropriation to amend (only a carry-in of {budget.carried_in}); "
                "appropriate it first")
        self.check_open(effective_date, what="effective date")
        check_not_before(effective_date, budget.changed_on, what="effective date",
                         follows=f"last decision on the budget of {fiscal_year}")
        delta = new_amount - budget.appropriation
        if delta.amount < 0:
            self._check_unallocated(fiscal_year, -delta, what="a budget cut",
                                    on=effective_date)
        self._emit(
            self.BudgetAmended,
            actor,
            effective_date=effective_date,
            reason=reason,
            fiscal_year=fiscal_year,
            previous_amount=budget.appropriation,
            new_amount=new_amount,
            postings=[
                Posting(
                    Account.appropriation(fiscal_year),
                    Account.unallocated(fiscal_year),
                    delta,
                )
            ]
            if delta
            else [],
        )

    def spend_directly(
        self,
        actor: Actor,
        *,
        fiscal_year: int,
        amount: Money,
        paid_on: date,
        payee: str,
        purpose: str,
    ) -> None:
        self.budget(fiscal_year)
        self.check_year_open(fiscal_year)
        self.check_open(paid_on, what="payment date")
        self._check_unallocated(fiscal_year, amount, what="direct expenditure", on=paid_on)
        self._emit(
            self.DirectExpenditureRecorded,
            actor,
            effective_date=paid_on,
            fiscal_year=fiscal_year,
            amount=amount,
            payee=payee,
            purpose=purpose,
            postings=[
                Posting(
                    Account.unallocated(fiscal_year), Account.direct(fiscal_year), amount
                )
            ],
        )

    def fund_phase(
        self,
        actor: Actor,
        *,
        fiscal_year: int,
        phase_id: str,
        amount: Money,
        effective_date: date,
    ) -> date:
        """Funds the phase on its opening day (`effective_date`, a plan), or on the later
        day its money is there (a phase may open before its budget's effective date:
        `unallocated:Y` never goes negative by business date); returns the day funded."""
        year = self.budget(fiscal_year)
        self.check_year_open(fiscal_year)
        self.check_open(effective_date, what="effective date")
        self._check_unallocated(fiscal_year, amount, what=f"the envelope of {phase_id}")
        funded_on = by_date.covered_from(year.movements, effective_date, amount)
        self.check_open(funded_on, what="day the budget funds it")
        self._emit(
            self.PhaseFunded,
            actor,
            effective_date=funded_on,
            fiscal_year=fiscal_year,
            phase_id=phase_id,
            amount=amount,
            postings=[
                Posting(
                    Account.unallocated(fiscal_year), Account.phase(phase_id), amount
                )
            ],
        )
        return funded_on

    def close_year(
        self,
        actor: Actor,
        *,
        fiscal_year: int,
        closed_on: date,
        carry_over: Money,
    ) -> None:
        budget = self.budget(fiscal_year)
        if budget.closed:
            raise InvalidState(f"fiscal year {fiscal_year} is already closed")
        self.check_open(closed_on, what="closing date")
        # I14: the close settles what the year holds on its date, so that money must be
        # there by then (not appropriated or cut back later).
        lowest, when = by_date.lowest_from(budget.movements, closed_on)
        if budget.unallocated > lowest:
            raise DateOrder(
                f"closing date {closed_on.isoformat()}: the budget of {fiscal_year} holds "
                f"{lowest} on {when}, less than the {budget.unallocated} the "
                "close settles (part of it is dated later)")
        if self.is_closed(fiscal_year + 1):
            raise FiscalYearClosed(f"fiscal year {fiscal_year + 1} is closed")
        unallocated = budget.unallocated
        if carry_over > unallocated:
            raise BudgetExceeded(
                f"carry-over of {carry_over} exceeds the unallocated {unallocated}"
            )
        lapsed = unallocated - carry_over
        postings = []
        if lapsed:
            postings.append(
                Posting(
                    Account.unallocated(fiscal_year), Account.lapsed(fiscal_year), lapsed
                )
            )
        if carry_over:
            postings.append(
                Posting(
                    Account.unallocated(fiscal_year),
                    Account.unallocated(fiscal_year + 1),
                    carry_over,
                )
            )
        self._emit(
            self.FiscalYearClosed,
            actor,
            effective_date=closed_on,
            fiscal_year=fiscal_year,
            lapsed=lapsed,
            carried_over=carry_over,
            postings=postings,
        )
