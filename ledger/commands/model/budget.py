"""Commands of programmes, yearly budgets, phases and recipients."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, ClassVar

from ledger.commands import validate
from ledger.commands.model.base import Command, set_field
from ledger.commands.model.rules import (
    Day,
    FiscalYear,
    Identifier,
    Name,
    NotNegativeMoney,
    PositiveMoney,
    Reason,
    Text,
)
from ledger.errors import ValidationFailed
from ledger.money import Money
from ledger.vocabulary import RecipientKind

# -- programmes, budgets, phases, recipients -----------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateProgramme(Command):
    COMMAND: ClassVar[str] = "create_programme"
    programme_id: Identifier
    name: Name
    funder: Name


@dataclass(frozen=True, kw_only=True)
class AppropriateBudget(Command):
    COMMAND: ClassVar[str] = "appropriate_budget"
    programme_id: str
    fiscal_year: FiscalYear
    amount: PositiveMoney
    effective_date: Day


@dataclass(frozen=True, kw_only=True)
class AmendBudget(Command):
    COMMAND: ClassVar[str] = "amend_budget"
    programme_id: str
    fiscal_year: FiscalYear
    new_amount: NotNegativeMoney  # 0.00: the whole budget cut (what is unallocated)
    reason: Annotated[str, Reason("amend a budget")]
    effective_date: Day


@dataclass(frozen=True, kw_only=True)
class RecordDirectExpenditure(Command):
    COMMAND: ClassVar[str] = "record_direct_expenditure"
    programme_id: str
    fiscal_year: FiscalYear
    amount: PositiveMoney
    paid_on: Day
    payee: Name
    purpose: Annotated[str, Text(1000)]


@dataclass(frozen=True, kw_only=True)
class CloseFiscalYear(Command):
    COMMAND: ClassVar[str] = "close_fiscal_year"
    programme_id: str
    fiscal_year: FiscalYear
    closed_on: Day
    carry_over: Money | None = None  # kept as 0.00 when not given

    def check(self) -> None:
        carry = Money.not_negative(
            self.carry_over if self.carry_over is not None else Money.zero(),
            field="carry_over")
        set_field(self, "carry_over", carry)


@dataclass(frozen=True, kw_only=True)
class OpenPhase(Command):
    COMMAND: ClassVar[str] = "open_phase"
    programme_id: str
    phase_id: Identifier
    name: Name
    fiscal_year: FiscalYear
    envelope: PositiveMoney
    opens_on: Day
    closes_on: Day
    eligible_kinds: Sequence[str]  # RecipientKind values; kept as a sorted tuple
    max_open_per_recipient: int = 1
    # I15: awards above the amount applied for are refused unless the phase allows them.
    allow_award_above_request: bool = False

    def check(self) -> None:
        if self.closes_on < self.opens_on:
            raise ValidationFailed("closes_on: must not be before opens_on")
        set_field(self, "eligible_kinds", tuple(sorted(
            {validate.kind(k, field="eligible_kinds") for k in self.eligible_kinds})))
        if not self.eligible_kinds:
            raise ValidationFailed(
                f"eligible_kinds: one or more of {', '.join(RecipientKind)}")
        limit = self.max_open_per_recipient
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise ValidationFailed("max_open_per_recipient: between 1 and 1000")


@dataclass(frozen=True)
class NewRecipient:
    recipient_id: str
    name: str
    kind: str  # a RecipientKind value
    population: int | None = None
    district_id: str | None = None

    def checked(self, where: str) -> NewRecipient:
        validate.identifier(self.recipient_id, field=f"{where}.recipient_id")
        name = validate.text(self.name, field=f"{where}.name", limit=200)
        kind = validate.kind(self.kind, field=f"{where}.kind")
        if self.population is not None and (
                not isinstance(self.population, int) or not 0 <= self.population <= 10**9):
            raise ValidationFailed(f"{where}.population: 0 to 10^9")
        if self.district_id is not None:
            validate.identifier(self.district_id, field=f"{where}.district_id")
        return dataclasses.replace(self, name=name, kind=kind)


@dataclass(frozen=True, kw_only=True)
class RegisterRecipients(Command):
    COMMAND: ClassVar[str] = "register_recipients"
    recipients: Sequence[NewRecipient]

    def check(self) -> None:
        if not self.recipients:
            raise ValidationFailed("recipients: at least one")
        checked = tuple(r.checked(f"recipients[{n}]") for n, r in enumerate(self.recipients))
        seen: set[str] = set()
        for r in checked:
            if r.recipient_id in seen:
                raise ValidationFailed(f"recipients: {r.recipient_id} appears twice")
            seen.add(r.recipient_id)
        set_field(self, "recipients", checked)
