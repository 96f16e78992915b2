"""Recipients: registration (one or many) and statements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from api import state, tabular
from api.answers import answer
from api.deps import (
    AdminActor,
    AnyRole,
    AtPosition,
    Cursor,
    EffectiveOn,
    LedgerDep,
    Limit,
    ReadModelsDep,
)
from api.schemas.common import IDENTIFIER_PATTERN
from api.schemas.lists import CountedPage, search_text
from api.schemas.recipients import (
    RecipientCreate,
    RecipientPublic,
    RecipientsBody,
    RecipientsCreate,
    RecipientsCreated,
    StatementPublic,
)
from ledger import NewRecipient
from ledger.commands import (
    RegisterRecipients,
)

router = APIRouter(prefix="/recipients", tags=["recipients"])

RecipientId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]


@router.post("", status_code=201, response_model=RecipientPublic | RecipientsCreated)
def register_recipients(
    *, body: RecipientsBody, ledger: LedgerDep, actor: AdminActor,
    response: Response,
) -> dict[str, Any]:
    many = body.recipients if isinstance(body, RecipientsCreate) else [body]
    result = ledger.execute(actor, RegisterRecipients(
        recipients=[NewRecipient(**r.model_dump()) for r in many]
    ))
    state.replayed(response, result)
    if isinstance(body, RecipientCreate):
        return state.recipient(ledger, body.recipient_id, result.position)
    created = [state.recipient(ledger, r.recipient_id, result.position) for r in many]
    return {"recipients": created, "count": len(created), "position": result.position}


@router.get("", response_model=CountedPage, dependencies=[AnyRole],
            responses=tabular.CSV_RESPONSE)
async def list_recipients(
    *, read: ReadModelsDep, at: AtPosition, request: Request,
    q: Annotated[str | None, search_text(
        "words, each the start of a word of the name or of the id, in any order: "
        "`frankf main` finds 'Stadt Frankfurt am Main' (case and punctuation aside; at "
        "most 8 words)", "frankfurt")] = None,
    cursor: Cursor = None, limit: Limit = 100,
) -> Response:
    """Recipients in id order, those matching `q` when given, with the `total`."""
    return await answer(request, read, CountedPage, read.recipients, text=q, cursor=cursor,
                        limit=limit, at=at, csv=tabular.recipients_csv)


@router.get("/{rid}", response_model=RecipientPublic, dependencies=[AnyRole])
async def get_recipient(*, rid: RecipientId, read: ReadModelsDep, at: AtPosition,
                        request: Request) -> Response:
    return await answer(request, read, RecipientPublic, read.recipient, rid, at=at,
                        by_template=True)


@router.get("/{rid}/statement", response_model=StatementPublic, dependencies=[AnyRole],
            responses=tabular.CSV_RESPONSE)
async def get_statement(*, rid: RecipientId, read: ReadModelsDep, at: AtPosition,
                        effective_on: EffectiveOn, request: Request) -> Response:
    return await answer(request, read, StatementPublic, read.recipient_statement, rid, at=at,
                        effective_on=effective_on, csv=tabular.statement_csv,
                        by_template=True)
