"""Applications: submission, amendment, withdrawal and the award decision."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from api import commands, state, tabular
from api.answers import answer
from api.deps import (
    AnyRole,
    ApproverActor,
    AtPosition,
    ClerkActor,
    Cursor,
    EffectiveOn,
    LedgerDep,
    Limit,
    ReadModelsDep,
)
from api.schemas.applications import (
    ApplicationAmend,
    ApplicationApprove,
    ApplicationCreate,
    ApplicationPublic,
    ApplicationReject,
    ApplicationWithdraw,
    AwardAmend,
    Status,
)
from api.schemas.common import IDENTIFIER_PATTERN, Page, command
from api.schemas.lists import CountedPage, search_text
from ledger.commands import (
    AmendApplication,
    AmendAward,
    ApproveApplication,
    RejectApplication,
    SubmitApplication,
    WithdrawApplication,
)

router = APIRouter(prefix="/applications", tags=["applications"])

ApplicationId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, examples=[
    "0f8fad5b-d9cb-469f-a165-70867728950e"])]


@router.post("", status_code=201, response_model=ApplicationPublic)
async def submit_application(
    *, body: ApplicationCreate, ledger: LedgerDep, actor: ClerkActor, response: Response
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(SubmitApplication, body))
    return await state.application_answer(ledger, response, result, result.ids["application_id"])


@router.post("/{application_id}/amend", response_model=ApplicationPublic)
async def amend_application(
    *, application_id: ApplicationId, body: ApplicationAmend, ledger: LedgerDep,
    actor: ClerkActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        AmendApplication, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/withdraw", response_model=ApplicationPublic)
async def withdraw_application(
    *, application_id: ApplicationId, body: ApplicationWithdraw, ledger: LedgerDep,
    actor: ClerkActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        WithdrawApplication, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/approve", response_model=ApplicationPublic)
async def approve_application(
    *, application_id: ApplicationId, body: ApplicationApprove, ledger: LedgerDep,
    actor: ApproverActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        ApproveApplication, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/reject", response_model=ApplicationPublic)
async def reject_application(
    *, application_id: ApplicationId, body: ApplicationReject, ledger: LedgerDep,
    actor: ApproverActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        RejectApplication, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/award-amendments", response_model=ApplicationPublic)
async def amend_award(
    *, application_id: ApplicationId, body: AwardAmend, ledger: LedgerDep,
    actor: ApproverActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        AmendAward, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.get("", response_model=CountedPage, dependencies=[AnyRole],
            responses=tabular.CSV_RESPONSE)
async def list_applications(
    *, read: ReadModelsDep, at: AtPosition, request: Request,
    phase_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    recipient_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    status: Status | None = None,
    reference: Annotated[str | None, search_text(
        "the file reference (case and punctuation aside)", "DA-2020-17")] = None,
    q: Annotated[str | None, search_text(
        "words, each the start of a word of the recipient's name or of the "
        "reference, in any order (at most 8)",
        "darmstadt")] = None,
    cursor: Cursor = None, limit: Limit = 100,
) -> Response:
    """Applications in id order, each with its `recipient_name`, filtered and searched by
    the parameters given (all must hold), with the `total`."""
    return await answer(request, read, CountedPage, read.applications, phase_id=phase_id,
                        recipient_id=recipient_id, status=status, reference=reference,
                        text=q, cursor=cursor, limit=limit, at=at, csv=tabular.applications_csv)


@router.get("/{application_id}", response_model=ApplicationPublic, dependencies=[AnyRole])
async def get_application(
    *, application_id: ApplicationId, read: ReadModelsDep, at: AtPosition, request: Request,
    effective_on: EffectiveOn,
) -> Response:
    """With `effective_on`: the application as its events effective on or before that
    date left it — status, drawdowns, money from their legs — (404 when it was not
    submitted by then)."""
    return await answer(request, read, ApplicationPublic, read.application, application_id,
                        at=at, effective_on=effective_on, by_template=True)


@router.get("/{application_id}/history", response_model=Page, dependencies=[AnyRole],
            responses=tabular.CSV_RESPONSE)
async def get_history(
    *, application_id: ApplicationId, read: ReadModelsDep, at: AtPosition, request: Request,
    cursor: Cursor = None, limit: Limit = 100,
) -> Response:
    return await answer(request, read, Page, read.application_history, application_id,
                        cursor=cursor, limit=limit, at=at, csv=tabular.audit_csv,
                        by_template=True)
