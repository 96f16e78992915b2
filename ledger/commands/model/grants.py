"""Commands of the money on an awarded grant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from ledger.commands.model.base import Command
from ledger.commands.model.rules import Day, PositiveMoney, Reason

# -- money on a grant -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestDrawdown(Command):
    COMMAND: ClassVar[str] = "request_drawdown"
    application_id: str
    amount: PositiveMoney
    requested_on: Day


@dataclass(frozen=True, kw_only=True)
class PayDrawdown(Command):
    COMMAND: ClassVar[str] = "pay_drawdown"
    application_id: str
    drawdown_id: str
    paid_on: Day


@dataclass(frozen=True, kw_only=True)
class CancelDrawdown(Command):
    COMMAND: ClassVar[str] = "cancel_drawdown"
    application_id: str
    drawdown_id: str
    reason: Annotated[str, Reason("cancel a drawdown")]
    cancelled_on: Day | None = None


@dataclass(frozen=True, kw_only=True)
class RecordRepayment(Command):
    COMMAND: ClassVar[str] = "record_repayment"
    application_id: str
    amount: PositiveMoney
    received_on: Day
    reason: Annotated[str, Reason("book a repayment")]


@dataclass(frozen=True, kw_only=True)
class SubmitProofOfUse(Command):
    COMMAND: ClassVar[str] = "submit_proof_of_use"
    application_id: str
    spent_amount: PositiveMoney
    submitted_on: Day


@dataclass(frozen=True, kw_only=True)
class CloseApplication(Command):
    COMMAND: ClassVar[str] = "close_application"
    application_id: str
    closed_on: Day


@dataclass(frozen=True, kw_only=True)
class RevokeApplication(Command):
    COMMAND: ClassVar[str] = "revoke_application"
    application_id: str
    reason: Annotated[str, Reason("revoke a grant")]
    decided_on: Day
