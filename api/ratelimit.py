"""A per-key rate limit on expensive requests: 429 with `Retry-After` (SPEC §4, issue 9).

Expensive are the requests whose cost grows with the log or the page rather than
staying at one indexed look-up: `GET /integrity` (and its digest check), the raw
log `GET /events` (pages and the stream), any answer asked as CSV (`Accept:
text/csv`: whole pages of up to 1,000 rows, formatted), and pages of more than
100 rows (`limit` > 100: answers no longer kept in the answer cache). Everything
else is cheap and never limited, so the limit cannot lock out daily work.

Counted per API key (a hash of the key, so two keys of one user count apart) with
the moving window of the `limits` library (`LEDGER_RATE_LIMIT`, e.g.
`10/second;300/minute`; empty turns it off). The counts live where
`LEDGER_RATE_LIMIT_STORAGE` says: `memory://` (the default) counts in each worker
process, so with `ledger serve --workers N` a key may make up to N times the limit
(the kernel spreads connections over the workers); a shared storage of `limits`
(`redis://…`, `memcached://…`; its client package installed) makes it one count for
all workers and servers. Runs after authentication: a request without a valid key
is not counted, and neither is one its role may not make (403): it is refused by its
route.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import time
from typing import Any

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, problem_body

log = structlog.get_logger("api")

BIG_PAGE = 100
# A shared storage answers a count in a millisecond; one that takes this long (a Redis
# frozen, a network partition) counts as unreachable, and for RETRY_SECONDS after a
# failure the requests skip it rather than each wait for it, then one tries it again.
STORAGE_TIMEOUT = 0.5
RETRY_SECONDS = 5.0
EXPENSIVE_PATHS = ("/integrity", "/events")


def parse_limit(text: str) -> list[RateLimitItem]:
    """The limits of `LEDGER_RATE_LIMIT`; ValueError for text `limits` cannot read."""
    return parse_many(text) if text.strip() else []


def async_storage_uri(uri: str) -> str:
    return uri if uri.startswith("async+") else f"async+{uri}"


def storage_problem(uri: str, *, timeout: float = 5.0) -> str | None:
    """Why the counts' storage `uri` cannot be used now (None: it answers), asked once
    before a server starts: a shared storage out of reach is refused there, not found by
    the first expensive request."""
    async def answers() -> bool:
        checked = storage_from_string(async_storage_uri(uri)).check()
        return bool(await asyncio.wait_for(checked, timeout)
                    if inspect.isawaitable(checked) else checked)

    try:
        reached = asyncio.run(answers())
    except Exception as exc:  # whatever its client raises: said, not raised
        return f"{type(exc).__name__}: {exc}"
    return None if reached else "it did not answer"


def expensive(scope: Scope) -> bool:
    """Reads only: a command is never refused for what its caller read before."""
    if scope["method"] not in ("GET", "HEAD"):
        return False
    path: str = scope["path"]
    if any(path == p or path.startswith(f"{p}/") for p in EXPENSIVE_PATHS):
        return True
    accept = b", ".join(v for name, v in scope["headers"] if name.lower() == b"accept")
    if b"text/csv" in accept.lower():
        return True
    return _limit_asked(scope.get("query_string", b"")) > BIG_PAGE


def _limit_asked(query: bytes) -> int:
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"limit" and value.isdigit() and len(value) < 10:
            return int(value)
    return 0


class RateLimitMiddleware:
    """Counts each expensive request against its caller's key; 429 beyond the limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limits: list[RateLimitItem] | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        # While the configured storage is unreachable, this process counts alone (as with
        # memory://): a limit per worker rather than none.
        self._fallback = MovingWindowRateLimiter(storage_from_string("async+memory://"))
        self._failed_at: float | None = None  # monotonic time of the last failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        if (scope["type"] != "http" or state.get("principal") is None
                or not expensive(scope)):
            await self.app(scope, receive, send)
            return
        limits, limiter = self._configured(scope)
        key = _key_id(scope)
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            limiter = self._fallback  # unreachable a moment ago: not asked again yet
        try:
            async with asyncio.timeout(STORAGE_TIMEOUT):
                refused = await _first_reached(limiter, limits, key)
        except Exception as exc:  # any failure of the storage, a timeout: _unreachable
            self._unreachable(exc)
            limiter = self._fallback
            refused = await _first_reached(limiter, limits, key)
        else:
            if limiter is not self._fallback:
                self._reached()
        if refused is not None:
            await _refuse(send, *refused)
            return

        async def counted(message: Message) -> None:
            # Counted as it is answered: a request its role may not make (403) cost
            # nothing, and must not use up the key's allowance for those it may make.
            if message["type"] == "http.response.start" and message["status"] != 403:
                await self._hit(limiter, limits, key)
            await send(message)

        await self.app(scope, receive, counted)

    async def _hit(self, limiter: MovingWindowRateLimiter, limits: list[RateLimitItem],
                   key: str) -> None:
        try:
            async with asyncio.timeout(STORAGE_TIMEOUT):
                for item in limits:
                    await limiter.hit(item, key)
        except Exception as exc:  # as above: counted here instead
            self._unreachable(exc)
            for item in limits:
                await self._fallback.hit(item, key)

    def _unreachable(self, exc: Exception) -> None:
        """The storage failed or did not answer in STORAGE_TIMEOUT (a shared Redis gone or
        frozen, say): the request is counted by this process alone rather than answered
        with a 500 or never — the limit guards the service, and refusing every expensive
        request while the storage is away would be the outage it guards against. Logged as
        an error once per outage, not once per request."""
        if self._failed_at is None:
            log.error("rate_limit_storage_unreachable",
                      error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                      effect="expensive requests are counted per process until it is back")
        self._failed_at = time.monotonic()

    def _reached(self) -> None:
        if self._failed_at is not None:
            self._failed_at = None
            log.info("rate_limit_storage_recovered")

    def _configured(self, scope: Scope) -> tuple[list[RateLimitItem], MovingWindowRateLimiter]:
        if self._limits is None or self._limiter is None:
            settings = scope["app"].state.settings
            self._limits = parse_limit(settings.rate_limit)
            self._limiter = MovingWindowRateLimiter(
                storage_from_string(async_storage_uri(settings.rate_limit_storage)))
        return self._limits, self._limiter


async def _first_reached(limiter: MovingWindowRateLimiter, limits: list[RateLimitItem],
                         key: str) -> tuple[RateLimitItem, int] | None:
    """The first limit `key` has reached, with the seconds until it may try again."""
    for item in limits:
        if not await limiter.test(item, key):
            stats = await limiter.get_window_stats(item, key)
            return item, max(1, math.ceil(stats.reset_time - time.time()))
    return None


def _key_id(scope: Scope) -> str:
    """The caller's key, hashed (AuthenticationMiddleware let exactly one header in)."""
    header = next(v for name, v in scope["headers"] if name.lower() == b"authorization")
    return hashlib.sha256(header.strip()).hexdigest()[:32]


async def _refuse(send: Send, item: RateLimitItem, retry_after: int) -> None:
    body = problem_body(
        status=429, code="rate_limited", title="Too Many Requests",
        detail=f"more than {item} expensive requests (integrity, the raw log, CSV, pages "
        f"over {BIG_PAGE} rows) with this key; retry in {retry_after} s")
    await send({
        "type": "http.response.start",
        "status": 429,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ],
    })
    await send({"type": "http.response.body", "body": body})
