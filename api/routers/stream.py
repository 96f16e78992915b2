"""`GET /events/stream`: the log as Server-Sent Events, for systems that follow the ledger.

See docs/change-feed.md for how a downstream system uses it (resume with
`Last-Event-ID`, filters, keep-alives, what to do on a gap).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import MAX_POSITION, LedgerDep, requires
from api.errors import problem
from api.feed import MAX_STREAMS, Filter, HeadWatch, follow
from api.schemas.common import NO_CONTROL_PATTERN
from ledger import Ledger
from ledger.errors import ValidationFailed

router = APIRouter(tags=["audit"])

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
Names = Annotated[list[str] | None, Query(max_length=20)]


def head_watch(request: Request, ledger: Ledger) -> HeadWatch:
    """The process's one HeadWatch, made on first use."""
    watch: HeadWatch | None = getattr(request.app.state, "head_watch", None)
    if watch is None:
        watch = HeadWatch(lambda: ledger.head()[0])
        request.app.state.head_watch = watch
        if getattr(request.app.state, "stopping", False):
            watch.stop()  # the server is shutting down (api/main.py)
    return watch


async def counted(watch: HeadWatch, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    watch.streams += 1
    try:
        async for chunk in frames:
            yield chunk
    finally:
        watch.streams -= 1


@router.get(
    "/events/stream", dependencies=[Depends(requires("auditor", "finance"))],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "`id: <position>` and `data: <event as in GET /events>` "
                     "per event; `: keep-alive` comments while the log is quiet"},
               429: {"description": "Too many open streams on this server (`Retry-After`)"}},
)
async def stream_events(
    *, ledger: LedgerDep, request: Request,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description=(
        "Send events after this position (0: the whole log)"))] = 0,
    event_type: Annotated[Names, Query(description=(
        "Only these event types (`Approved` or `Application.Approved`); repeatable"))] = None,
    entity_id: Annotated[Names, Query(description=(
        "Only events of these entities (application, programme, phase or recipient id); "
        "repeatable"))] = None,
    last_event_id: Annotated[str | None, Header(
        alias="Last-Event-ID", pattern=r"^[0-9]{1,19}$", description=(
            "Resume after this position (sent by EventSource on reconnect; wins over "
            "`after`)"))] = None,
) -> Response:
    """The log from a position as Server-Sent Events, live: each event's SSE `id` is its
    position, so a reconnecting client resumes exactly after the last event it saw."""
    for value in [*(event_type or []), *(entity_id or [])]:
        _check_text(value)
    watch = head_watch(request, ledger)
    if watch.streams >= MAX_STREAMS:
        return problem(status=429, code="too_many_streams", title="Too many streams",
                       detail=f"this server already serves {MAX_STREAMS} streams; retry later",
                       headers={"Retry-After": "5"})
    start = int(last_event_id) if last_event_id is not None else after
    frames = follow(ledger, watch, after=start,
                    only=Filter.of(event_type or [], entity_id or []),
                    disconnected=request.is_disconnected)
    return StreamingResponse(counted(watch, frames), media_type="text/event-stream",
                             headers=SSE_HEADERS)


def _check_text(value: str) -> None:
    if len(value) > 100 or not re.fullmatch(NO_CONTROL_PATTERN, value):
        raise ValidationFailed("event_type / entity_id: up to 100 characters, no control "
                               "characters")
