"""Every command route's body names exactly the command's fields (besides the ids of its
path): a field added to a command but not to its body, or the reverse, fails here
instead of failing every request of that route."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel

from api.schemas import applications as a
from api.schemas import programmes as p
from ledger import commands as c

ROUTES: list[tuple[type[BaseModel], type[c.Command], set[str]]] = [
    (p.ProgrammeCreate, c.CreateProgramme, set()),
    (p.BudgetCreate, c.AppropriateBudget, {"programme_id"}),
    (p.BudgetAmend, c.AmendBudget, {"programme_id", "fiscal_year"}),
    (p.ExpenditureCreate, c.RecordDirectExpenditure, {"programme_id", "fiscal_year"}),
    (p.YearClose, c.CloseFiscalYear, {"programme_id", "fiscal_year"}),
    (p.PhaseCreate, c.OpenPhase, {"programme_id"}),
    (a.ApplicationCreate, c.SubmitApplication, set()),
    (a.ApplicationAmend, c.AmendApplication, {"application_id"}),
    (a.ApplicationWithdraw, c.WithdrawApplication, {"application_id"}),
    (a.ApplicationApprove, c.ApproveApplication, {"application_id"}),
    (a.ApplicationReject, c.RejectApplication, {"application_id"}),
    (a.AwardAmend, c.AmendAward, {"application_id"}),
    (a.DrawdownCreate, c.RequestDrawdown, {"application_id"}),
    (a.DrawdownPay, c.PayDrawdown, {"application_id", "drawdown_id"}),
    (a.DrawdownCancel, c.CancelDrawdown, {"application_id", "drawdown_id"}),
    (a.RepaymentCreate, c.RecordRepayment, {"application_id"}),
    (a.ProofOfUseCreate, c.SubmitProofOfUse, {"application_id"}),
    (a.ApplicationClose, c.CloseApplication, {"application_id"}),
    (a.ApplicationRevoke, c.RevokeApplication, {"application_id"}),
]


@pytest.mark.parametrize(("body", "command", "path"), ROUTES,
                         ids=[command.__name__ for _, command, _ in ROUTES])
def test_the_body_and_the_path_name_every_field_of_the_command(
        body: type[BaseModel], command: type[c.Command], path: set[str]) -> None:
    fields = {f.name for f in dataclasses.fields(command)}
    assert set(body.model_fields) | path == fields
    assert not set(body.model_fields) & path
