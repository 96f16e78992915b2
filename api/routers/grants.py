"""The money on an awarded grant: drawdowns, repayments, proof of use, close, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api import commands, state
from api.deps import ApproverActor, CancelActor, ClerkActor, FinanceActor, LedgerDep
from api.routers.applications import ApplicationId
from api.schemas.applications import (
    ApplicationClose,
    ApplicationPublic,
    ApplicationRevoke,
    DrawdownCancel,
    DrawdownCreate,
    DrawdownCreated,
    DrawdownPay,
    ProofOfUseCreate,
    RepaymentCreate,
)
from api.schemas.common import IDENTIFIER_PATTERN, command
from ledger.commands import (
    CancelDrawdown,
    CloseApplication,
    PayDrawdown,
    RecordRepayment,
    RequestDrawdown,
    RevokeApplication,
    SubmitProofOfUse,
)

router = APIRouter(prefix="/applications", tags=["grants"])

DrawdownId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, examples=["D1"])]


@router.post("/{application_id}/drawdowns", status_code=201, response_model=DrawdownCreated)
async def request_drawdown(
    *, application_id: ApplicationId, body: DrawdownCreate, ledger: LedgerDep,
    actor: ClerkActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        RequestDrawdown, body, application_id=application_id))
    answer = await state.application_answer(ledger, response, result, application_id)
    return {**answer, "drawdown_id": result.ids["drawdown_id"]}


@router.post("/{application_id}/drawdowns/{did}/pay", response_model=ApplicationPublic)
async def pay_drawdown(
    *, application_id: ApplicationId, did: DrawdownId, body: DrawdownPay, ledger: LedgerDep,
    actor: FinanceActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        PayDrawdown, body, application_id=application_id, drawdown_id=did))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/drawdowns/{did}/cancel", response_model=ApplicationPublic)
async def cancel_drawdown(
    *, application_id: ApplicationId, did: DrawdownId, body: DrawdownCancel, ledger: LedgerDep,
    actor: CancelActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        CancelDrawdown, body, application_id=application_id, drawdown_id=did))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/repayments", status_code=201,
             response_model=ApplicationPublic)
async def record_repayment(
    *, application_id: ApplicationId, body: RepaymentCreate, ledger: LedgerDep,
    actor: FinanceActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        RecordRepayment, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/proof-of-use", status_code=201,
             response_model=ApplicationPublic)
async def submit_proof_of_use(
    *, application_id: ApplicationId, body: ProofOfUseCreate, ledger: LedgerDep,
    actor: ClerkActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        SubmitProofOfUse, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/close", response_model=ApplicationPublic)
async def close_application(
    *, application_id: ApplicationId, body: ApplicationClose, ledger: LedgerDep,
    actor: ApproverActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        CloseApplication, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)


@router.post("/{application_id}/revoke", response_model=ApplicationPublic)
async def revoke_application(
    *, application_id: ApplicationId, body: ApplicationRevoke, ledger: LedgerDep,
    actor: ApproverActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        RevokeApplication, body, application_id=application_id))
    return await state.application_answer(ledger, response, result, application_id)
