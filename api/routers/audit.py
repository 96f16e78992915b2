"""The auditor's view: the audit trail, the raw log with hashes, and the chain check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from api import tabular
from api.answers import JSON, answer, encode
from api.deps import (
    MAX_POSITION,
    AtPosition,
    Cursor,
    FilterText,
    LedgerDep,
    Limit,
    ReadModelsDep,
    requires,
)
from api.schemas.audit import DIGEST_PATTERN, Integrity
from api.schemas.common import Page
from api.shortcut import KeptQuestions
from ledger import Ledger
from ledger.keeper import IntegrityKeeper
from ledger.persistence.chain import Digest, format_recorded_at
from ledger.persistence.integrity import Integrity as LedgerIntegrity
from ledger.persistence.log import plain_decoder
from ledger.persistence.snapshots import problems_met

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=Page, responses=tabular.CSV_RESPONSE,
            dependencies=[Depends(requires("auditor", "finance"))])
async def get_audit(
    *, read: ReadModelsDep, at: AtPosition, request: Request,
    entity_id: FilterText = None,
    actor: FilterText = None,
    event_type: FilterText = None,
    recorded_from: datetime | None = None,
    recorded_to: datetime | None = None,
    cursor: Cursor = None, limit: Limit = 100,
) -> Response:
    return await answer(
        request, read, Page, read.audit,
        entity_id=entity_id, actor=actor, event_type=event_type,
        recorded_from=recorded_from.isoformat() if recorded_from else None,
        recorded_to=recorded_to.isoformat() if recorded_to else None,
        cursor=cursor, limit=limit, at=at, csv=tabular.audit_csv,
    )


@router.get("/events", response_model=Page, responses=tabular.CSV_RESPONSE,
            dependencies=[Depends(requires("auditor"))])
def get_events(
    *, ledger: LedgerDep, request: Request,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0, limit: Limit = 100,
) -> Any:
    """The raw log in global order, straight from the store (no projection involved)."""
    records = ledger.chained_recorder.read_log(after=after, limit=limit)
    fields_of = plain_decoder(ledger)
    items = [
        {
            "position": r.position,
            "recorded_at": r.recorded_at,
            "aggregate_id": r.originator_id,
            "aggregate_version": r.originator_version,
            "event_type": r.event_type,
            "topic": r.topic,
            "data": fields_of(r),
            "hash": r.hash,
        }
        for r in records
    ]
    head = ledger.head()[0]
    last = items[-1]["position"] if items else after
    page = {"items": items, "next_cursor": str(last) if len(items) == limit else None,
            "position": head}
    return tabular.events_csv(page) if tabular.wants_csv(request) else page


@router.get("/integrity", response_model=Integrity,
            dependencies=[Depends(requires("auditor"))])
async def get_integrity(
    *, ledger: LedgerDep, request: Request,
    digest: Annotated[str | None, Query(
        pattern=DIGEST_PATTERN, description="POS:HASH from `ledger head`, checked too")] = None,
) -> Response:
    """From the verified checkpoint, extended by at most a few thousand links per call."""
    keeper: IntegrityKeeper | None = getattr(request.app.state, "integrity_keeper", None)
    if keeper is not None and digest is None:
        state = request.app.state

        def peek() -> bytes | None:  # the keeper's answer of a moment ago: no I/O
            kept = keeper.current()
            return None if kept is None else _kept_body(state, kept, _snapshot_problems(ledger))

        body = peek()
        if body is not None:  # and the same request again, before routing (api/shortcut.py)
            questions: KeptQuestions | None = getattr(state, "kept_questions", None)
            if questions is not None:
                questions.note_peek(request, request.scope.get("route"), peek)
            return Response(body, media_type=JSON)
    # One threadpool hop for the reads and the encoding (a `def` route takes two).
    body = await run_in_threadpool(lambda: encode(_integrity(ledger, digest), Integrity))
    return Response(body, media_type=JSON)


def _kept_body(state: State, kept: LedgerIntegrity, snapshots: list[str]) -> bytes:
    """The kept answer's bytes, encoded once per answer (and per snapshot finding)."""
    last: tuple[LedgerIntegrity, list[str], bytes] | None = getattr(
        state, "integrity_body", None)
    if last is not None and last[0] is kept and last[1] == snapshots:
        return last[2]
    body = encode(_document(kept, None, snapshots), Integrity)
    state.integrity_body = (kept, snapshots, body)
    return body


def _snapshot_problems(ledger: Ledger) -> list[str]:
    # Snapshots lie outside the chain: one found altered is ignored, and reported here.
    return [str(problem) for problem in problems_met(ledger)]


def _integrity(ledger: Ledger, digest: str | None) -> dict[str, Any]:
    expected = None
    if digest is not None:
        position, _, head = digest.partition(":")
        expected = (int(position), head.lower())
    return _document(ledger.integrity(expected), expected, _snapshot_problems(ledger))


def _document(answer: LedgerIntegrity, expected: Digest | None,
              snapshots: list[str]) -> dict[str, Any]:
    checkpoint = answer.checkpoint
    # `verified` is false for any of three reasons; the top-level problem names each.
    problems = [checkpoint.problem or "",
                f"the digest: {answer.digest_problem}" if answer.digest_problem else "",
                f"snapshots: {'; '.join(snapshots)}" if snapshots else ""]
    problem = "; ".join(p for p in problems if p) or None
    return {
        "position": answer.head_position, "head_position": answer.head_position,
        "head_hash": answer.head_hash, "verified": answer.verified and not snapshots,
        "snapshot_problems": snapshots,
        "verified_position": checkpoint.position, "verified_hash": checkpoint.hash.hex(),
        "verified_at": format_recorded_at(checkpoint.verified_at)
        if checkpoint.verified_at else None,
        "checked": checkpoint.links, "broken_at": checkpoint.broken_at,
        "problem": problem,
        "digest": None if expected is None else {
            "position": expected[0], "hash": expected[1],
            "verified": answer.digest_problem is None, "problem": answer.digest_problem},
    }
