"""Commands of applications and award decisions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar

from ledger.commands import validate
from ledger.commands.model.base import Command, set_field
from ledger.commands.model.rules import Day, PositiveMoney, Reason, Reference
from ledger.errors import LedgerError, ValidationFailed, rows_refused
from ledger.money import Money
from ledger.vocabulary import MeasureCategory

# -- applications and award decisions -------------------------------------------


@dataclass(frozen=True)
class Measure:
    category: MeasureCategory
    description: str
    amount: Money

    def as_event(self) -> dict[str, Any]:
        """The measure as the application's events carry it."""
        return {"category": str(self.category), "description": self.description,
                "amount": self.amount}


def measures_of(items: Sequence[Measure | Mapping[str, Any]] | None) -> tuple[Measure, ...]:
    result = []
    for n, item in enumerate(items or ()):
        raw = item.as_event() if isinstance(item, Measure) else dict(item)
        result.append(Measure(**validate.measure(raw, where=f"measures[{n}]")))
    return tuple(result)


@dataclass(frozen=True)
class NewApplication:
    phase_id: str
    recipient_id: str
    requested_amount: Money
    submitted_on: date
    reference: str | None = None
    measures: Sequence[Measure | Mapping[str, Any]] = ()  # kept as a tuple of Measure

    @property
    def measure_list(self) -> tuple[Measure, ...]:
        return measures_of(self.measures)

    def checked(self) -> NewApplication:
        return dataclasses.replace(
            self,
            requested_amount=validate.positive(self.requested_amount, field="requested_amount"),
            submitted_on=validate.day(self.submitted_on, field="submitted_on"),
            reference=validate.text(self.reference, field="reference", required=False,
                                    limit=200) or None,
            measures=measures_of(self.measures),
        )


@dataclass(frozen=True, kw_only=True)
class SubmitApplications(Command):
    """Many applications in one atomic decision: all or nothing."""

    COMMAND: ClassVar[str] = "submit_applications"
    applications: Sequence[NewApplication]

    def check(self) -> None:
        """Every row's rules (I1); the refusal names every bad row (`rows`), not the first."""
        if not self.applications:
            raise ValidationFailed("applications: at least one")
        rows = []
        refused: list[tuple[int, LedgerError]] = []
        for n, row in enumerate(self.applications):
            try:
                rows.append(row.checked())
            except ValidationFailed as exc:
                refused.append((n, exc))
        if refused:
            raise rows_refused(refused, of=len(self.applications))
        set_field(self, "applications", tuple(rows))


@dataclass(frozen=True, kw_only=True)
class SubmitApplication(Command):
    COMMAND: ClassVar[str] = "submit_application"
    phase_id: str
    recipient_id: str
    requested_amount: Money
    submitted_on: date
    reference: str | None = None
    measures: Sequence[Measure | Mapping[str, Any]] = ()  # kept as a tuple of Measure

    def check(self) -> None:
        """The rules of a row of SubmitApplications (NewApplication.checked)."""
        row = self.as_new().checked()
        for name in ("requested_amount", "submitted_on", "reference", "measures"):
            set_field(self, name, getattr(row, name))

    def as_new(self) -> NewApplication:
        return NewApplication(
            phase_id=self.phase_id, recipient_id=self.recipient_id,
            requested_amount=self.requested_amount, submitted_on=self.submitted_on,
            reference=self.reference, measures=self.measures)


@dataclass(frozen=True, kw_only=True)
class AmendApplication(Command):
    COMMAND: ClassVar[str] = "amend_application"
    application_id: str
    reason: Annotated[str, Reason("amend an application")]
    requested_amount: PositiveMoney | None = None
    measures: Sequence[Measure | Mapping[str, Any]] | None = None
    amended_on: Day | None = None

    def check(self) -> None:
        if self.requested_amount is None and self.measures is None:
            raise ValidationFailed("requested_amount and/or measures: give at least one")
        if self.measures is not None:
            set_field(self, "measures", measures_of(self.measures))


@dataclass(frozen=True, kw_only=True)
class WithdrawApplication(Command):
    COMMAND: ClassVar[str] = "withdraw_application"
    application_id: str
    reason: Annotated[str, Reason("withdraw an application")]
    withdrawn_on: Day


@dataclass(frozen=True, kw_only=True)
class RejectApplication(Command):
    COMMAND: ClassVar[str] = "reject_application"
    application_id: str
    reason: Annotated[str, Reason("reject an application")]
    decided_on: Day


@dataclass(frozen=True, kw_only=True)
class ApproveApplication(Command):
    COMMAND: ClassVar[str] = "approve_application"
    application_id: str
    approved_amount: PositiveMoney
    decided_on: Day
    decision_reference: Reference = None


@dataclass(frozen=True, kw_only=True)
class AmendAward(Command):
    COMMAND: ClassVar[str] = "amend_award"
    application_id: str
    new_amount: PositiveMoney
    reason: Annotated[str, Reason("amend an award")]
    decided_on: Day
