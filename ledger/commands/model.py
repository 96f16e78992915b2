"""Every command of the ledger as data: one frozen, keyword-only dataclass each.

A command checks and normalises its own primitive input when it is built (I1:
amounts positive EUR with two decimals, text bounded, vocabularies closed), so
a command that exists is well-formed; the handlers (ledger/commands/handlers)
decide it against the aggregates. Its idempotency fingerprint is derived from
every field (`fingerprint`), so no field can be left out of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import orjson

from ledger.commands import validate
from ledger.errors import ValidationFailed
from ledger.money import Money
from ledger.vocabulary import MeasureCategory, RecipientKind


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, kw_only=True)
class Command:
    """Base of every command. `COMMAND` is its stable name (logs, idempotency)."""

    COMMAND: ClassVar[str] = "command"

    def fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def fingerprint(self, user: str) -> str:
        """SHA-256 over the command's name, the user and every field, canonically."""
        body = orjson.dumps(
            {"command": self.COMMAND, "user": user, "request": dataclasses.asdict(self)},
            option=orjson.OPT_SORT_KEYS,
            default=str,
        )
        return hashlib.sha256(body).hexdigest()


# -- programmes, budgets, phases, recipients -----------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateProgramme(Command):
    COMMAND: ClassVar[str] = "create_programme"
    programme_id: str
    name: str
    funder: str

    def __post_init__(self) -> None:
        validate.identifier(self.programme_id, field="programme_id")
        _set(self, "name", validate.text(self.name, field="name", limit=200))
        _set(self, "funder", validate.text(self.funder, field="funder", limit=200))


@dataclass(frozen=True, kw_only=True)
class AppropriateBudget(Command):
    COMMAND: ClassVar[str] = "appropriate_budget"
    programme_id: str
    fiscal_year: int
    amount: Money
    effective_date: date

    def __post_init__(self) -> None:
        validate.fiscal_year(self.fiscal_year)
        _set(self, "amount", validate.positive(self.amount, field="amount"))
        _set(self, "effective_date", validate.day(self.effective_date, field="effective_date"))


@dataclass(frozen=True, kw_only=True)
class AmendBudget(Command):
    COMMAND: ClassVar[str] = "amend_budget"
    programme_id: str
    fiscal_year: int
    new_amount: Money
    reason: str
    effective_date: date

    def __post_init__(self) -> None:
        validate.fiscal_year(self.fiscal_year)
        _set(self, "new_amount", validate.positive(self.new_amount, field="new_amount"))
        _set(self, "reason", validate.required_reason(self.reason, what="amend a budget"))
        _set(self, "effective_date", validate.day(self.effective_date, field="effective_date"))


@dataclass(frozen=True, kw_only=True)
class RecordDirectExpenditure(Command):
    COMMAND: ClassVar[str] = "record_direct_expenditure"
    programme_id: str
    fiscal_year: int
    amount: Money
    paid_on: date
    payee: str
    purpose: str

    def __post_init__(self) -> None:
        validate.fiscal_year(self.fiscal_year)
        _set(self, "amount", validate.positive(self.amount, field="amount"))
        _set(self, "paid_on", validate.day(self.paid_on, field="paid_on"))
        _set(self, "payee", validate.text(self.payee, field="payee", limit=200))
        _set(self, "purpose", validate.text(self.purpose, field="purpose", limit=1000))


@dataclass(frozen=True, kw_only=True)
class CloseFiscalYear(Command):
    COMMAND: ClassVar[str] = "close_fiscal_year"
    programme_id: str
    fiscal_year: int
    closed_on: date
    carry_over: Money | None = None  # kept as 0.00 when not given

    def __post_init__(self) -> None:
        validate.fiscal_year(self.fiscal_year)
        _set(self, "closed_on", validate.day(self.closed_on, field="closed_on"))
        carry = Money.parse(self.carry_over if self.carry_over is not None else Money.zero(),
                            field="carry_over")
        if carry.amount < 0:
            raise ValidationFailed("carry_over: must not be negative")
        _set(self, "carry_over", carry)


@dataclass(frozen=True, kw_only=True)
class OpenPhase(Command):
    COMMAND: ClassVar[str] = "open_phase"
    programme_id: str
    phase_id: str
    name: str
    fiscal_year: int
    envelope: Money
    opens_on: date
    closes_on: date
    eligible_kinds: Sequence[str]  # RecipientKind values; kept as a sorted tuple
    max_open_per_recipient: int = 1
    # I15: awards above the amount applied for are refused unless the phase allows them.
    allow_award_above_request: bool = False

    def __post_init__(self) -> None:
        validate.identifier(self.phase_id, field="phase_id")
        _set(self, "name", validate.text(self.name, field="name", limit=200))
        validate.fiscal_year(self.fiscal_year)
        _set(self, "envelope", validate.positive(self.envelope, field="envelope"))
        _set(self, "opens_on", validate.day(self.opens_on, field="opens_on"))
        _set(self, "closes_on", validate.day(self.closes_on, field="closes_on"))
        if self.closes_on < self.opens_on:
            raise ValidationFailed("closes_on: must not be before opens_on")
        _set(self, "eligible_kinds", tuple(sorted(
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

    def __post_init__(self) -> None:
        if not self.recipients:
            raise ValidationFailed("recipients: at least one")
        checked = tuple(r.checked(f"recipients[{n}]") for n, r in enumerate(self.recipients))
        seen: set[str] = set()
        for r in checked:
            if r.recipient_id in seen:
                raise ValidationFailed(f"recipients: {r.recipient_id} appears twice")
            seen.add(r.recipient_id)
        _set(self, "recipients", checked)


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


def _measures(items: Sequence[Measure | Mapping[str, Any]] | None) -> tuple[Measure, ...]:
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
        return _measures(self.measures)

    def checked(self) -> NewApplication:
        return dataclasses.replace(
            self,
            requested_amount=validate.positive(self.requested_amount, field="requested_amount"),
            submitted_on=validate.day(self.submitted_on, field="submitted_on"),
            reference=validate.text(self.reference, field="reference", required=False,
                                    limit=200) or None,
            measures=_measures(self.measures),
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
        _set(self, "applications", tuple(rows))


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
            _set(self, name, getattr(row, name))

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
            _set(self, "requested_amount",
                 validate.positive(self.requested_amount, field="requested_amount"))
        if self.measures is not None:
            _set(self, "measures", _measures(self.measures))
        if self.amended_on is not None:
            _set(self, "amended_on", validate.day(self.amended_on, field="amended_on"))
        _set(self, "reason", validate.required_reason(self.reason, what="amend an application"))


@dataclass(frozen=True, kw_only=True)
class WithdrawApplication(Command):
    COMMAND: ClassVar[str] = "withdraw_application"
    application_id: str
    reason: str
    withdrawn_on: date

    def __post_init__(self) -> None:
        _set(self, "reason",
             validate.required_reason(self.reason, what="withdraw an application"))
        _set(self, "withdrawn_on", validate.day(self.withdrawn_on, field="withdrawn_on"))


@dataclass(frozen=True, kw_only=True)
class RejectApplication(Command):
    COMMAND: ClassVar[str] = "reject_application"
    application_id: str
    reason: str
    decided_on: date

    def __post_init__(self) -> None:
        _set(self, "reason", validate.required_reason(self.reason, what="reject an application"))
        _set(self, "decided_on", validate.day(self.decided_on, field="decided_on"))


@dataclass(frozen=True, kw_only=True)
class ApproveApplication(Command):
    COMMAND: ClassVar[str] = "approve_application"
    application_id: str
    approved_amount: Money
    decided_on: date
    decision_reference: str | None = None

    def __post_init__(self) -> None:
        _set(self, "approved_amount",
             validate.positive(self.approved_amount, field="approved_amount"))
        _set(self, "decided_on", validate.day(self.decided_on, field="decided_on"))
        _set(self, "decision_reference", validate.text(
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
        _set(self, "new_amount", validate.positive(self.new_amount, field="new_amount"))
        _set(self, "reason", validate.required_reason(self.reason, what="amend an award"))
        _set(self, "decided_on", validate.day(self.decided_on, field="decided_on"))


# -- money on a grant -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestDrawdown(Command):
    COMMAND: ClassVar[str] = "request_drawdown"
    application_id: str
    amount: Money
    requested_on: date

    def __post_init__(self) -> None:
        _set(self, "amount", validate.positive(self.amount, field="amount"))
        _set(self, "requested_on", validate.day(self.requested_on, field="requested_on"))


@dataclass(frozen=True, kw_only=True)
class PayDrawdown(Command):
    COMMAND: ClassVar[str] = "pay_drawdown"
    application_id: str
    drawdown_id: str
    paid_on: date

    def __post_init__(self) -> None:
        _set(self, "paid_on", validate.day(self.paid_on, field="paid_on"))


@dataclass(frozen=True, kw_only=True)
class CancelDrawdown(Command):
    COMMAND: ClassVar[str] = "cancel_drawdown"
    application_id: str
    drawdown_id: str
    reason: str
    cancelled_on: date | None = None

    def __post_init__(self) -> None:
        _set(self, "reason", validate.required_reason(self.reason, what="cancel a drawdown"))
        if self.cancelled_on is not None:
            _set(self, "cancelled_on", validate.day(self.cancelled_on, field="cancelled_on"))


@dataclass(frozen=True, kw_only=True)
class RecordRepayment(Command):
    COMMAND: ClassVar[str] = "record_repayment"
    application_id: str
    amount: Money
    received_on: date
    reason: str

    def __post_init__(self) -> None:
        _set(self, "amount", validate.positive(self.amount, field="amount"))
        _set(self, "received_on", validate.day(self.received_on, field="received_on"))
        _set(self, "reason", validate.required_reason(self.reason, what="book a repayment"))


@dataclass(frozen=True, kw_only=True)
class SubmitProofOfUse(Command):
    COMMAND: ClassVar[str] = "submit_proof_of_use"
    application_id: str
    spent_amount: Money
    submitted_on: date

    def __post_init__(self) -> None:
        _set(self, "spent_amount", validate.positive(self.spent_amount, field="spent_amount"))
        _set(self, "submitted_on", validate.day(self.submitted_on, field="submitted_on"))


@dataclass(frozen=True, kw_only=True)
class CloseApplication(Command):
    COMMAND: ClassVar[str] = "close_application"
    application_id: str
    closed_on: date

    def __post_init__(self) -> None:
        _set(self, "closed_on", validate.day(self.closed_on, field="closed_on"))


@dataclass(frozen=True, kw_only=True)
class RevokeApplication(Command):
    COMMAND: ClassVar[str] = "revoke_application"
    application_id: str
    reason: str
    decided_on: date

    def __post_init__(self) -> None:
        _set(self, "reason", validate.required_reason(self.reason, what="revoke a grant"))
        _set(self, "decided_on", validate.day(self.decided_on, field="decided_on"))
