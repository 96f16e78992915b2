"""Programmes, their yearly budgets and phases."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt

from api.schemas.common import (
    AMOUNT,
    DAY,
    MAYBE_DAY,
    TEXT,
    Amount,
    Body,
    Identifier,
    IsoDate,
    LongText,
    NonNegativeAmount,
    Public,
    Reason,
    ShortText,
)

FiscalYear = Annotated[StrictInt, Field(ge=1990, le=2200, examples=[2020])]
Kind = Literal["gemeinde", "stadt", "kreisfreie_stadt", "landkreis"]


class ProgrammeCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"programme_id": "shh-digital", "name": "Starke Heimat Hessen – Digitales",
         "funder": "Land Hessen"}]})

    programme_id: Identifier
    name: ShortText
    funder: ShortText


class BudgetCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"fiscal_year": 2020, "amount": "20000000.00", "effective_date": "2020-01-01"}]})

    fiscal_year: FiscalYear
    amount: Amount
    effective_date: IsoDate


class BudgetAmend(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"new_amount": "21000000.00", "reason": "supplementary budget",
         "effective_date": "2020-06-01"}]})

    new_amount: NonNegativeAmount = Field(description="the year's new budget; 0.00 cuts "
                                          "all of it that is still unallocated")
    reason: Reason
    effective_date: IsoDate


class ExpenditureCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"amount": "250000.00", "paid_on": "2020-09-01", "payee": "ekom21",
         "purpose": "platform licence"}]})

    amount: Amount
    paid_on: IsoDate
    payee: ShortText
    purpose: LongText


class YearClose(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"closed_on": "2020-12-31", "carry_over": "1000000.00"}]})

    closed_on: IsoDate
    carry_over: NonNegativeAmount | None = None


class PhaseCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"phase_id": "2020-1", "name": "Phase 1 (2020)", "fiscal_year": 2020,
         "envelope": "16000000.00", "opens_on": "2020-01-01", "closes_on": "2020-12-31",
         "eligible_kinds": ["gemeinde", "stadt", "kreisfreie_stadt", "landkreis"],
         "max_open_per_recipient": 1}]})

    phase_id: Identifier
    name: ShortText
    fiscal_year: FiscalYear
    envelope: Amount
    opens_on: IsoDate
    closes_on: IsoDate
    eligible_kinds: Annotated[list[Kind], Field(min_length=1, max_length=4)]
    max_open_per_recipient: Annotated[StrictInt, Field(ge=1, le=1000)] = 1
    allow_award_above_request: Annotated[StrictBool, Field(
        description="I15: approvals may award more than the amount applied for")] = False


class BudgetPublic(Public):
    also: ClassVar[dict[str, dict[str, Any]]] = {"closed_on": MAYBE_DAY}
    fiscal_year: int
    appropriation: str
    carried_in: str
    funded_to_phases: str
    direct_expenditure: str
    unallocated: str
    lapsed: str
    carried_out: str
    status: Literal["open", "closed"]


class ProgrammePublic(Public):
    also: ClassVar[dict[str, dict[str, Any]]] = {
        "phases": {"type": "array", "items": TEXT}}
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"programme_id": "shh-digital", "name": "Starke Heimat Hessen – Digitales",
         "funder": "Land Hessen", "budgets": [], "position": 3}]})

    programme_id: str
    name: str
    funder: str
    budgets: list[BudgetPublic] | list[dict[str, Any]] | dict[str, Any] = Field(
        default_factory=list
    )
    position: int


class PhasePublic(Public):
    phase_id: str
    programme_id: str
    name: str
    fiscal_year: int
    envelope: str
    committed: str
    available: str
    opens_on: str
    closes_on: str
    eligible_kinds: list[str]
    max_open_per_recipient: int
    allow_award_above_request: bool
    position: int


class Check(Public):
    name: str
    left: str
    right: str
    holds: bool


class ReconciliationPublic(Public):
    """SPEC §5 yearly budget reconciliation; every figure a money string."""
    also: ClassVar[dict[str, dict[str, Any]]] = {
        "phases_available": AMOUNT, "trial_balance": AMOUNT, "closed_on": MAYBE_DAY,
        "effective_on": {**DAY, "description": "with `effective_on`: the business date"},
    }

    programme_id: str | None = None
    fiscal_year: int | None = None
    appropriation: str | None = None
    carried_in: str | None = None
    funded_to_phases: str | None = None
    direct_expenditure: str | None = None
    unallocated: str | None = None
    committed: str | None = None
    paid_against_year: str | None = None
    paid_in_year: str | None = None
    repaid_in_year: str | None = None
    outstanding: str | None = None
    lapsed: str | None = None
    carried_out: str | None = None
    status: str | None = None
    checks: list[Check] = Field(default_factory=list)
    balanced: bool | None = None
    position: int


class AccountBalance(Public):
    account: str
    balance: str


class AccountsPublic(Public):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"accounts": [{"account": "phase:2020-1", "balance": "0.00"}],
         "by_kind": {"phase": "0.00"}, "total": "0.00", "next_cursor": None,
         "position": 1000}]})

    accounts: list[AccountBalance]
    by_kind: dict[str, str] = Field(default_factory=dict,
                                    description="balance by account kind, over all accounts")
    total: str = Field(description="trial balance over all accounts: always 0.00")
    next_cursor: str | None = None
    position: int
