"""Phases (calls): current state, totals, and the evidence behind each total."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from api import tabular
from api.answers import answer
from api.deps import AnyRole, AtPosition, Cursor, EffectiveOn, Limit, ReadModelsDep
from api.schemas.common import IDENTIFIER_PATTERN, Page
from api.schemas.phases import PhaseTotals
from api.schemas.programmes import PhasePublic
from ledger.vocabulary import RecipientKind

router = APIRouter(prefix="/phases", tags=["phases"], dependencies=[AnyRole])

PhaseId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
Figure = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$", examples=["paid"])]


@router.get("/{phase_id}", response_model=PhasePublic)
async def get_phase(*, phase_id: PhaseId, read: ReadModelsDep, at: AtPosition,
                    request: Request) -> Response:
    return await answer(request, read, PhasePublic, read.phase, phase_id, at=at,
                        by_template=True)


@router.get("/{phase_id}/totals", response_model=PhaseTotals, responses=tabular.CSV_RESPONSE)
async def get_totals(*, phase_id: PhaseId, read: ReadModelsDep, at: AtPosition,
                     request: Request, effective_on: EffectiveOn) -> Response:
    return await answer(request, read, PhaseTotals, read.phase_totals, phase_id, at=at,
                        effective_on=effective_on, csv=tabular.figures_csv, by_template=True)


@router.get("/{phase_id}/totals/{figure}/entries", response_model=Page,
            responses=tabular.CSV_RESPONSE)
async def get_total_entries(
    *, phase_id: PhaseId, figure: Figure, read: ReadModelsDep, at: AtPosition, request: Request,
    cursor: Cursor = None, limit: Limit = 100, effective_on: EffectiveOn,
    recipient_kind: Annotated[RecipientKind | None, Query(
        description="Only the entries of this kind of recipient: the cell of `by_kind`")
    ] = None,
) -> Response:
    kind: dict[str, Any] = {"recipient_kind": str(recipient_kind)} if recipient_kind else {}
    return await answer(request, read, Page, read.phase_entries, phase_id, figure,
                        cursor=cursor, limit=limit, at=at, effective_on=effective_on,
                        csv=tabular.entries_csv, **kind)
