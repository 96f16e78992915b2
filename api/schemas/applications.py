"""Applications, awards and the money on a grant."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AMOUNT,
    DAY,
    MAYBE_DAY,
    MAYBE_TEXT,
    TEXT,
    Amount,
    Body,
    Identifier,
    IsoDate,
    LongText,
    Public,
    Reason,
    ShortText,
)

Category = Literal[
    "it_infrastructure", "workplace_equipment", "remote_work", "collaboration_tools",
    "specialist_applications", "e_records", "online_services", "website", "strategy",
    "training",
]
Status = Literal["submitted", "approved", "rejected", "withdrawn", "closed", "revoked"]


class Measure(Body):
    category: Category
    description: LongText
    amount: Amount


Measures = Annotated[list[Measure], Field(max_length=100)]


class ApplicationCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"phase_id": "2020-1", "recipient_id": "06411000", "requested_amount": "36117.00",
         "submitted_on": "2020-03-02", "reference": "DA-2020-17",
         "measures": [{"category": "e_records", "description": "E-Akte",
                       "amount": "36117.00"}]}]})

    phase_id: Identifier
    recipient_id: Identifier
    requested_amount: Amount
    submitted_on: IsoDate
    reference: ShortText | None = None
    measures: Measures | None = None


class ApplicationAmend(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"requested_amount": "30000.00", "reason": "reduced scope"}]})

    requested_amount: Amount | None = None
    measures: Measures | None = None
    reason: Reason
    amended_on: IsoDate | None = Field(
        default=None, description="the amendment's business date; without it, the "
        "application's own (its submission's, or its last amendment's): a correction of "
        "the application as it stands")


class ApplicationWithdraw(Body):
    reason: Reason
    withdrawn_on: IsoDate


class ApplicationApprove(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"approved_amount": "36117.00", "decided_on": "2020-04-01",
         "decision_reference": "B-2020-17"}]})

    approved_amount: Amount
    decided_on: IsoDate
    decision_reference: ShortText | None = None


class ApplicationReject(Body):
    reason: Reason
    decided_on: IsoDate


class AwardAmend(Body):
    new_amount: Amount
    reason: Reason
    decided_on: IsoDate


class DrawdownCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": "10000.00", "requested_on": "2020-05-01"}]})

    amount: Amount
    requested_on: IsoDate


class DrawdownPay(Body):
    paid_on: IsoDate


class DrawdownCancel(Body):
    reason: Reason
    cancelled_on: IsoDate | None = None


class RepaymentCreate(Body):
    amount: Amount
    received_on: IsoDate
    reason: Reason


class ProofOfUseCreate(Body):
    submitted_on: IsoDate
    spent_amount: Amount


class ApplicationClose(Body):
    closed_on: IsoDate


class ApplicationRevoke(Body):
    reason: Reason
    decided_on: IsoDate


class DrawdownPublic(Public):
    drawdown_id: str
    amount: str
    status: Literal["requested", "paid", "cancelled"]
    requested_on: str | None = None
    paid_on: str | None = None


class ApplicationPublic(Public):
    also: ClassVar[dict[str, dict[str, Any]]] = {
        "reference": MAYBE_TEXT, "fiscal_year": {"type": "integer"},
        "recipient_kind": TEXT, "submitted_on": DAY, "decided_on": MAYBE_DAY,
        "decision_reference": MAYBE_TEXT, "closed_on": MAYBE_DAY,
        "net_paid": AMOUNT, "released": AMOUNT,
        "outstanding": {**AMOUNT, "description": "awarded − released − paid"},
        "proofs_of_use": {"type": "array", "items": {"type": "object"}},
    }
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"application_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "phase_id": "2020-1",
         "programme_id": "shh-digital", "recipient_id": "06411000", "status": "approved",
         "requested": "36117.00", "awarded": "36117.00", "paid": "10000.00",
         "repaid": "0.00", "drawdowns": [{"drawdown_id": "D1", "amount": "10000.00",
                                          "status": "paid"}], "position": 1234}]})

    application_id: str
    phase_id: str
    programme_id: str | None = None
    recipient_id: str
    status: Status
    requested: str
    awarded: str
    paid: str
    repaid: str
    drawdowns: list[DrawdownPublic]
    measures: list[dict[str, Any]] = Field(default_factory=list)
    position: int


class DrawdownCreated(ApplicationPublic):
    drawdown_id: str
