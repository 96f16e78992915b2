"""Recipients: registration (one or many) and statements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api import state
from api.deps import AdminActor, AnyRole, AtPosition, LedgerDep, ReadModelsDep
from api.schemas.recipients import (
    RecipientCreate,
    RecipientPublic,
    RecipientsCreate,
    RecipientsCreated,
    StatementPublic,
)
from ledger import NewRecipient
from ledger.commands import (
    RegisterRecipients,
)

router = APIRouter(prefix="/recipients", tags=["recipients"])

RecipientId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


@router.post("", status_code=201, response_model=RecipientPublic | RecipientsCreated)
def register_recipients(
    *, body: RecipientCreate | RecipientsCreate, ledger: LedgerDep, actor: AdminActor,
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


@router.get("/{rid}", response_model=RecipientPublic, dependencies=[AnyRole])
def get_recipient(*, rid: RecipientId, read: ReadModelsDep, at: AtPosition) -> dict[str, Any]:
    return read.recipient(rid, at=at)


@router.get("/{rid}/statement", response_model=StatementPublic, dependencies=[AnyRole])
def get_statement(*, rid: RecipientId, read: ReadModelsDep, at: AtPosition) -> dict[str, Any]:
    return read.recipient_statement(rid, at=at)
