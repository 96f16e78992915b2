"""Dependencies as Annotated aliases: the ledger, the read models, the caller.

Route handlers declare what they need (`ledger: LedgerDep`, `actor: ClerkActor`,
`at: AtPosition`) and stay a few lines long.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.authentication import NO_KEY
from api.errors import Forbidden, ProjectionLagging, ProjectionsUnavailable, Unauthorized
from api.schemas.common import NO_CONTROL_PATTERN
from api.waiting import PositionWaiters
from ledger import Actor, Ledger
from ledger.errors import ValidationFailed
from projections.interface import ReadModels

MAX_POSITION = 2**62
WAIT_SECONDS = 5.0


# Dependencies that do no blocking I/O are `async def`: FastAPI runs a plain `def`
# dependency in its threadpool, and that hop (twice or thrice per request) cost more
# than the work itself.


async def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


async def get_read_models(request: Request) -> ReadModels:
    read_models: ReadModels | None = request.app.state.read_models
    if read_models is None:
        raise ProjectionsUnavailable("no read models are configured for this server")
    return read_models


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
ReadModelsDep = Annotated[ReadModels, Depends(get_read_models)]

# Declared for the OpenAPI document (the security scheme); the key itself is checked
# by api.authentication before the body is read.
_bearer = HTTPBearer(auto_error=False, description="An API key from LEDGER_API_KEYS_FILE")


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller AuthenticationMiddleware found; async so the bound user reaches every
    log line."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized(getattr(request.state, "unauthenticated", None) or NO_KEY)
    structlog.contextvars.bind_contextvars(user=principal.user)
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


async def authenticate(request: Request) -> Principal:
    """`current_user` outside FastAPI's dependency tree (raises Unauthorized)."""
    return await current_user(request, await _bearer(request))


#: The roles each check below lets through, for the OpenAPI document (api/routes.py).
ROLES_OF: dict[Callable[..., Any], tuple[str, ...]] = {}


def requires(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through callers holding one of `roles` (else 403)."""

    async def check(user: CurrentUser) -> Principal:
        if not user.roles.intersection(roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        return user

    ROLES_OF[check] = roles
    return check


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="Repeat a POST safely: the same key and body return the first answer "
        "and write nothing; the same key with a different body is refused (422).",
    ),
]


def acting_as(*roles: str) -> Callable[..., Awaitable[Actor]]:
    """The caller as the ledger's Actor, acting in the first of `roles` they hold."""

    async def actor(
        request: Request,
        user: CurrentUser,
        idempotency_key: IdempotencyKey = None,
    ) -> Actor:
        role = next((r for r in roles if r in user.roles), None)
        if role is None:
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        return Actor(user=user.user, role=role, correlation_id=request.state.request_id,
                     idempotency_key=idempotency_key)

    ROLES_OF[actor] = roles
    return actor


AdminActor = Annotated[Actor, Depends(acting_as("admin"))]
BudgetActor = Annotated[Actor, Depends(acting_as("admin", "finance"))]
FinanceActor = Annotated[Actor, Depends(acting_as("finance"))]
ClerkActor = Annotated[Actor, Depends(acting_as("clerk"))]
ApproverActor = Annotated[Actor, Depends(acting_as("approver"))]
CancelActor = Annotated[Actor, Depends(acting_as("clerk", "finance"))]

AnyRole = Depends(requires("admin", "clerk", "approver", "finance", "auditor"))


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _iso_moment(value: Any) -> Any:
    """pydantic reads a number as seconds since 1970 (`as_of=-1`, `as_of=1700000000`): a
    recorded time is asked for in ISO 8601 only."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError("an ISO 8601 time such as 2021-01-15T18:00:00Z (or a date: its "
                         "start, UTC), not a number")
    return value


async def read_position(
    request: Request,
    *,
    ledger: LedgerDep,
    read_models: ReadModelsDep,
    as_of: Annotated[datetime | None, BeforeValidator(_iso_moment), Query(
        description="Answer as the ledger stood at this recorded time (ISO 8601; UTC if "
        "no offset; a date alone is its start, 00:00 UTC)")] = None,
    as_of_position: Annotated[int | None, Query(
        ge=0, le=MAX_POSITION, description="Answer as the ledger stood at this position")] = None,
    min_position: Annotated[int | None, Query(
        ge=0, le=MAX_POSITION, description="Wait (up to 5 s) until the read models reached "
        "this position; 503 projection_lagging if they do not, or at once when too many "
        "requests already wait")] = None,
) -> int | None:
    """The position to answer at (None: the projections' current position).

    Async so a plain query (no as_of, no min_position, or an as_of_position the read
    models are known to have reached) needs no threadpool hop; the
    database look-ups run in the threadpool when they are needed, and the wait on the
    event loop (api/waiting.py), so waiting requests hold no thread.
    """
    if as_of is None and not min_position and (
            as_of_position is None or read_models.reached(as_of_position)):
        return as_of_position  # nothing to wait for: no look at the log's head either
    at, needed = await run_in_threadpool(_position, ledger, as_of, as_of_position,
                                         min_position)
    if needed and not await _waiters(request, read_models).wait_for(needed, WAIT_SECONDS):
        raise ProjectionLagging(
            f"the read models have not reached position {needed} within {WAIT_SECONDS:.0f} s"
        )
    return at


def _waiters(request: Request, read_models: ReadModels) -> PositionWaiters:
    state = request.app.state
    waiters: PositionWaiters | None = getattr(state, "position_waiters", None)
    if waiters is None or waiters.read_models is not read_models:
        waiters = state.position_waiters = PositionWaiters(read_models)
    return waiters


def _position(ledger: Ledger, as_of: datetime | None, as_of_position: int | None,
              min_position: int | None) -> tuple[int | None, int]:
    """The position to answer at, and the one the read models must have reached."""
    if as_of is not None and as_of_position is not None:
        raise ValidationFailed("as_of and as_of_position: give one, not both")
    at = as_of_position
    if as_of is not None:
        at = ledger.position_at(_utc(as_of))
    if as_of_position:
        check_written(ledger, as_of_position)
    # min_position beyond the log's head may still be written within the wait; if
    # not, it is the 503 projection_lagging of SPEC §5 like any other miss.
    return at, max(min_position or 0, at or 0)


def check_written(ledger: Ledger, as_of_position: int) -> None:
    """Raises ValidationFailed when `as_of_position` is beyond the log's head (blocking)."""
    head = ledger.head()[0]
    if as_of_position > head:
        # answered as the head, the same question would change its answer as the log
        # grows; a position is exact, so it is refused (as_of, a time, is answered as
        # the log stands at it, up to now)
        raise ValidationFailed(
            f"as_of_position: {as_of_position} is beyond the log's head ({head}); ask "
            "as of a position that was written, or leave it out for the present")


def _utc(moment: datetime) -> datetime:
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationFailed(f"as_of: out of range: {moment.isoformat()}") from None


AtPosition = Annotated[int | None, Depends(read_position)]
# A business-date cut-off: with `as_of`/`as_of_position` it answers "what did we know
# then about the money of that day" (projections/days.py).
async def read_effective_on(effective_on: Annotated[str | None, Query(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", examples=["2020-12-31"],
    description="Figures from entries effective on or before this business date "
    "(YYYY-MM-DD)")] = None) -> date | None:
    """A strict ISO date (a time or a calendar error such as 2020-02-30 is a 422)."""
    if effective_on is None:
        return None
    try:
        return date.fromisoformat(effective_on)
    except ValueError:
        raise ValidationFailed(f"effective_on: not a date: {effective_on}") from None


EffectiveOn = Annotated[date | None, Depends(read_effective_on)]

Cursor = Annotated[str | None, Query(
    max_length=500, pattern=r"^[A-Za-z0-9_-]*={0,2}$",
    description="`next_cursor` of the previous page")]
# A filter on free text (actor, entity id, event type): bounded, no control characters.
FilterText = Annotated[str | None, Query(max_length=100, pattern=NO_CONTROL_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=1000)]


