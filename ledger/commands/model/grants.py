"""Commands of the money on an awarded grant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from ledger.commands import validate
from ledger.commands.model.base import Command, set_field
from ledger.money import Money

# -- money on a grant -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestDrawdown(Command):
    COMMAND: ClassVar[str] = "request_drawdown"
    application_id: str
    amount: Money
    requested_on: date

    def __post_init__(self) -> None:
        set_field(self, "amount", validate.positive(self.amount, field="amount"))
        set_field(self, "requested_on", validate.day(self.requested_on, field="requested_on"))


@dataclass(frozen=True, kw_only=True)
class PayDrawdown(Command):
    COMMAND: ClassVar[str] = "pay_drawdown"
    application_id: str
    drawdown_id: str
    paid_on: date

    def __post_init__(self) -> None:
        set_field(self, "paid_on", validate.day(self.paid_on, field="paid_on"))


@dataclass(frozen=True, kw_only=True)
class CancelDrawdown(Command):
    COMMAND: ClassVar[str] = "cancel_drawdown"
    application_id: str
    drawdown_id: str
    reason: str
    cancelled_on: date | None = None

    def __post_init__(self) -> None:
        set_field(self, "reason", validate.required_reason(self.reason, what="cancel a drawdown"))
        if self.cancelled_on is not None:
            set_field(self, "cancelled_on", validate.day(self.cancelled_on, field="cancelled_on"))


@dataclass(frozen=True, kw_only=True)
class RecordRepayment(Command):
    COMMAND: ClassVar[str] = "record_repayment"
    application_id: str
    amount: Money
    received_on: date
    reason: str

    def __post_init__(self) -> None:
        set_field(self, "amount", validate.positive(self.amount, field="amount"))
        set_field(self, "received_on", validate.day(self.received_on, field="received_on"))
        set_field(self, "reason", validate.required_reason(self.reason, what="book a repayment"))


@dataclass(frozen=True, kw_only=True)
class SubmitProofOfUse(Command):
    COMMAND: ClassVar[str] = "submit_proof_of_use"
    application_id: str
    spent_amount: Money
    submitted_on: date

    def __post_init__(self) -> None:
        set_field(self, "spent_amount", validate.positive(self.spent_amount, field="spent_amount"))
        set_field(self, "submitted_on", validate.day(self.submitted_on, field="submitted_on"))


@dataclass(frozen=True, kw_only=True)
class CloseApplication(Command):
    COMMAND: ClassVar[str] = "close_application"
    application_id: str
    closed_on: date

    def __post_init__(self) -> None:
        set_field(self, "closed_on", validate.day(self.closed_on, field="closed_on"))


@dataclass(frozen=True, kw_only=True)
class RevokeApplication(Command):
    COMMAND: ClassVar[str] = "revoke_application"
    application_id: str
    reason: str
    decided_on: date

    def __post_init__(self) -> None:
        set_field(self, "reason", validate.required_reason(self.reason, what="revoke a grant"))
        set_field(self, "decided_on", validate.day(self.decided_on, field="decided_on"))
