"""Commands of applications and award decisions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from ledger.commands import validate
from ledger.commands.model.base import Command, set_field
from ledger.errors import ValidationFailed
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

    def __post_init__(self) -> None:
        if not self.applications:
            raise ValidationFailed("applications: at least one")
        rows = []
        for n, row in enumerate(self.applications):
            try:
                rows.append(row.checked())
            except ValidationFailed as exc:
                if len(self.applications) == 1:
                    raise
                raise ValidationFailed(f"application {n + 1}: {exc.detail}") from None
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

    def __post_init__(self) -> None:
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
    reason: str
    requested_amount: Money | None = None
    measures: Sequence[Measure | Mapping[str, Any]] | None = None
    amended_on: date | None = None

    def __post_init__(self) -> None:
        if self.requested_amount is None and self.measures is None:
            raise ValidationFailed("requested_amount and/or measures: give at least one")
        if self.requested_amount is not None:
            set_field(self, "requested_amount",
                 validate.positive(self.requested_amount, field="requested_amount"))
        if self.measures is not None:
            set_field(self, "measures", measures_of(self.measures))
        if self.amended_on is not None:
            set_field(self, "amended_on", validate.day(self.amended_on, field="amended_on"))
        set_field(self, "reason",
                  validate.required_reason(self.reason, what="amend an application"))


@dataclass(frozen=True, kw_only=True)
class WithdrawApplication(Command):
    COMMAND: ClassVar[str] = "withdraw_application"
    application_id: str
    reason: str
    withdrawn_on: date

    def __post_init__(self) -> None:
        set_field(self, "reason",
             validate.required_reason(self.reason, what="withdraw an application"))
        set_field(self, "withdrawn_on", validate.day(self.withdrawn_on, field="withdrawn_on"))


@dataclass(frozen=True, kw_only=True)
class RejectApplication(Command):
    COMMAND: ClassVar[str] = "reject_application"
    application_id: str
    reason: str
    decided_on: date

    def __post_init__(self) -> None:
        set_field(self, "reason",
                  validate.required_reason(self.reason, what="reject an application"))
        set_field(self, "decided_on", validate.day(self.decided_on, field="decided_on"))


@dataclass(frozen=True, kw_only=True)
class ApproveApplication(Command):
    COMMAND: ClassVar[str] = "approve_application"
    application_id: str
    approved_amount: Money
    decided_on: date
    decision_reference: str | None = None

    def __post_init__(self) -> None:
        set_field(self, "approved_amount",
             validate.positive(self.approved_amount, field="approved_amount"))
        set_field(self, "decided_on", validate.day(self.decided_on, field="decided_on"))
        set_field(self, "decision_reference", validate.text(
            self.decision_reference, field="decision_reference", required=False,
            limit=200) or None)


@dataclass(frozen=True, kw_only=True)
class AmendAward(Command):
    COMMAND: ClassVar[str] = "amend_award"
    application_id: str
    new_amount: Money
    reason: str
    decided_on: date

    def __post_init__(self) -> None:
        set_field(self, "new_amount", validate.positive(self.new_amount, field="new_amount"))
        set_field(self, "reason", validate.required_reason(self.reason, what="amend an award"))
        set_field(self, "decided_on", validate.day(self.decided_on, field="decided_on"))
