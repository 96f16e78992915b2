"""Programmes: budgets per fiscal year, phases, reconciliation and accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from api import commands, state, tabular
from api.answers import answer
from api.deps import (
    AdminActor,
    AnyRole,
    AtPosition,
    BudgetActor,
    Cursor,
    EffectiveOn,
    FinanceActor,
    LedgerDep,
    Limit,
    ReadModelsDep,
    requires,
)
from api.schemas.common import Page, command
from api.schemas.lists import CountedPage
from api.schemas.programmes import (
    AccountsPublic,
    BudgetAmend,
    BudgetCreate,
    ExpenditureCreate,
    PhaseCreate,
    PhasePublic,
    ProgrammeCreate,
    ProgrammePublic,
    ReconciliationPublic,
    YearClose,
)
from ledger.commands import (
    AmendBudget,
    AppropriateBudget,
    CloseFiscalYear,
    CreateProgramme,
    OpenPhase,
    RecordDirectExpenditure,
)

router = APIRouter(prefix="/programmes", tags=["programmes"])

ProgrammeId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Year = Annotated[int, Path(ge=1990, le=2200)]
Figure = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")]


@router.post("", status_code=201, response_model=ProgrammePublic)
async def create_programme(
    *, body: ProgrammeCreate, ledger: LedgerDep, actor: AdminActor, response: Response
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(CreateProgramme, body))
    return await state.programme_answer(ledger, response, result, body.programme_id)


@router.post("/{pid}/budgets", status_code=201, response_model=ProgrammePublic)
async def appropriate_budget(
    *, pid: ProgrammeId, body: BudgetCreate, ledger: LedgerDep, actor: BudgetActor,
    response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(AppropriateBudget, body, programme_id=pid))
    return await state.programme_answer(ledger, response, result, pid)


@router.post("/{pid}/budgets/{year}/amend", response_model=ProgrammePublic)
async def amend_budget(
    *, pid: ProgrammeId, year: Year, body: BudgetAmend, ledger: LedgerDep, actor: FinanceActor,
    response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        AmendBudget, body, programme_id=pid, fiscal_year=year))
    return await state.programme_answer(ledger, response, result, pid)


@router.post("/{pid}/budgets/{year}/expenditures", status_code=201,
             response_model=ProgrammePublic)
async def record_expenditure(
    *, pid: ProgrammeId, year: Year, body: ExpenditureCreate, ledger: LedgerDep,
    actor: FinanceActor, response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        RecordDirectExpenditure, body, programme_id=pid, fiscal_year=year))
    return await state.programme_answer(ledger, response, result, pid)


@router.post("/{pid}/budgets/{year}/close", response_model=ProgrammePublic)
async def close_year(
    *, pid: ProgrammeId, year: Year, body: YearClose, ledger: LedgerDep, actor: FinanceActor,
    response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(
        CloseFiscalYear, body, programme_id=pid, fiscal_year=year))
    return await state.programme_answer(ledger, response, result, pid)


@router.post("/{pid}/phases", status_code=201, response_model=PhasePublic)
async def open_phase(
    *, pid: ProgrammeId, body: PhaseCreate, ledger: LedgerDep, actor: AdminActor,
    response: Response,
) -> dict[str, Any]:
    result = await commands.run(ledger, actor, command(OpenPhase, body, programme_id=pid))
    state.replayed(response, result)
    return await run_in_threadpool(state.phase, ledger, body.phase_id, result.position)


@router.get("", response_model=CountedPage, dependencies=[AnyRole],
            responses=tabular.CSV_RESPONSE)
async def list_programmes(
    *, read: ReadModelsDep, at: AtPosition, request: Request,
    cursor: Cursor = None, limit: Limit = 100,
) -> Response:
    """Every programme in id order, each as `GET /programmes/{pid}` answers it, with the
    `total`."""
    return await answer(request, read, CountedPage, read.programmes, cursor=cursor,
                        limit=limit, at=at, csv=tabular.programmes_csv)


@router.get("/{pid}/phases", response_model=CountedPage, dependencies=[AnyRole],
            responses=tabular.CSV_RESPONSE)
async def list_phases(
    *, pid: ProgrammeId, read: ReadModelsDep, at: AtPosition, request: Request,
    cursor: Cursor = None, limit: Limit = 100,
) -> Response:
    """The programme's phases in id order, each as `GET /phases/{phase_id}` answers it,
    with the `total`."""
    return await answer(request, read, CountedPage, read.phases_of, pid, cursor=cursor,
                        limit=limit, at=at, csv=tabular.phases_csv)


@router.get("/{pid}", response_model=ProgrammePublic, dependencies=[AnyRole])
async def get_programme(*, pid: ProgrammeId, read: ReadModelsDep, at: AtPosition,
                        request: Request) -> Response:
    return await answer(request, read, ProgrammePublic, read.programme, pid, at=at)


@router.get("/{pid}/reconciliation/{year}", response_model=ReconciliationPublic,
            dependencies=[AnyRole], responses=tabular.CSV_RESPONSE)
async def get_reconciliation(
    *, pid: ProgrammeId, year: Year, read: ReadModelsDep, at: AtPosition, request: Request,
    effective_on: EffectiveOn,
) -> Response:
    return await answer(request, read, ReconciliationPublic, read.reconciliation, pid, year,
                        at=at, effective_on=effective_on, csv=tabular.figures_csv)


@router.get("/{pid}/reconciliation/{year}/{figure}/entries", response_model=Page,
            dependencies=[AnyRole], responses=tabular.CSV_RESPONSE)
async def get_reconciliation_entries(
    *, pid: ProgrammeId, year: Year, figure: Figure, read: ReadModelsDep, at: AtPosition,
    request: Request, cursor: Cursor = None, limit: Limit = 100,
    effective_on: EffectiveOn,
) -> Response:
    return await answer(request, read, Page, read.reconciliation_entries, pid, year, figure,
                        cursor=cursor, limit=limit, at=at, effective_on=effective_on,
                        csv=tabular.entries_csv)


@router.get("/{pid}/accounts", response_model=AccountsPublic,
            dependencies=[Depends(requires("finance", "auditor"))],
            responses=tabular.CSV_RESPONSE)
async def get_accounts(
    *, pid: ProgrammeId, read: ReadModelsDep, at: AtPosition, request: Request,
    cursor: Cursor = None, limit: Limit = 100, effective_on: EffectiveOn,
) -> Response:
    """A page of account balances in name order (`next_cursor` for the next), with the
    totals by account kind and the trial balance over all of the programme's accounts."""
    return await answer(request, read, AccountsPublic, read.accounts, pid, at=at,
                        cursor=cursor, limit=limit, effective_on=effective_on,
                        csv=tabular.accounts_csv)
