"""RFC 9457 problem documents: every refusal leaves the API in this one shape.

Domain refusals arrive as `ledger.errors.LedgerError` and are mapped in one
handler; the HTTP-only refusals below subclass it so they share that handler.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg_pool
import structlog
from eventsourcing import persistence as es_persistence
from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from api.schemas.common import SHAPE_TAG
from ledger.errors import LedgerError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("api")


class Unauthorized(LedgerError):
    """Raised when a request carries no API key, or one the keys file does not know."""

    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(LedgerError):
    """Raised when the authenticated user has none of the roles an endpoint requires."""

    code = "forbidden"
    title = "Forbidden"


class ProjectionLagging(LedgerError):
    """Raised when a projection does not reach `min_position` within the wait."""

    code = "projection_lagging"
    title = "Projection lagging"


class ProjectionsUnavailable(LedgerError):
    """Raised when a query needs the read side but none is configured."""

    code = "projections_unavailable"
    title = "Read models unavailable"


# Connection-level failures of the store, from eventsourcing's recorders or from our
# own SQL on the read side (psycopg, sqlite3).
STORAGE_ERRORS: tuple[type[Exception], ...] = (
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    sqlite3.OperationalError,
)

# A table or column the statement names is not there (PostgreSQL; SQLite says so with an
# OperationalError, a storage error above): a read model's table renamed or dropped under a
# failing projection, or a version dropped by a rebuild — the read side is unavailable,
# not a bug of the request.
MISSING_RELATIONS: tuple[type[Exception], ...] = (
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedColumn,
)

# Values the store refuses (PostgreSQL: NUL in text, a number out of range; SQLite:
# a string or blob too big). Input reaches the store only after validation, so these
# are input the edge let through: a 422, and nothing was written (the transaction
# rolled back).
DATA_ERRORS: tuple[type[Exception], ...] = (
    es_persistence.DataError,
    psycopg.DataError,
    sqlite3.DataError,
)

_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation", "Invalid input"),
    503: ("unavailable", "Service unavailable"),
}


# The one place codes become HTTP statuses. Every other refusal is 409 Conflict: the
# request was well-formed but the ledger's state refuses it.
STATUS_OF_CODE: dict[str, int] = {
    "validation": 422,
    "idempotency_mismatch": 422,
    "not_found": 404,
    "four_eyes": 403,
    "unauthorized": 401,
    "forbidden": 403,
    "projection_lagging": 503,
    "projections_unavailable": 503,
    "projection_outdated": 503,
    "rate_limited": 429,
}


def status_of(exc: LedgerError) -> int:
    return STATUS_OF_CODE.get(exc.code, 409)


def problem_body(*, status: int, code: str, title: str, detail: str, **extra: Any) -> bytes:
    document = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    # The bytes JSONResponse would send (compact, UTF-8), encoded once.
    return json.dumps(document, default=str, ensure_ascii=False, separators=(",", ":")).encode()


def problem(
    *, status: int, code: str, title: str, detail: str,
    headers: dict[str, str] | None = None, **extra: Any,
) -> Response:
    body = problem_body(status=status, code=code, title=title, detail=detail, **extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _ledger_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LedgerError)
    log.info("request_refused", code=exc.code, detail=exc.detail)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(status=status, code=exc.code, title=exc.title, detail=exc.detail,
                   headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_said(request, error) for error in exc.errors()]
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:10])
    return problem(status=422, code="validation", title="Invalid input",
                   detail=detail or "invalid request", errors=errors)


def _said(request: Request, error: Any) -> dict[str, Any]:
    """A validation error as `{loc, msg}`, told in the client's terms: a body that is not
    JSON names the character where it stops being JSON (pydantic's loc holds that offset
    as if it were a field: `body.100`), and a JSON body sent as another content type says
    so (FastAPI reads only `application/json` bodies as JSON)."""
    loc = [str(part) for part in error.get("loc", ())
           if not str(part).startswith(SHAPE_TAG)]  # which shape of a body: not a field
    msg = str(error.get("msg", ""))
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        return {"loc": ["body"], "msg": f"not valid JSON{at}" + (f": {reason}" if reason
                                                                 else "")}
    if loc == ["body"] and error.get("type") in ("model_attributes_type", "dict_type"):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            msg = (f"{msg}: send a JSON object with Content-Type: application/json "
                   f"(not {kind or 'no content type'})")
    return {"loc": loc, "msg": msg}


# FastAPI's answer to a body that `json.loads` failed on other than as JSON (not UTF-8,
# nested past the interpreter's recursion limit): a plain 400, where every other body that
# is not JSON is a 422 `validation` naming what is wrong.
_UNPARSED_BODY = "There was an error parsing the body"


def _unparsed_body(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return (f"body: not valid JSON: byte {cause.start} (0x{cause.object[cause.start]:02x})"
                " is not UTF-8; send JSON encoded as UTF-8")
    if isinstance(cause, RecursionError):
        return "body: not valid JSON: nested too deeply"
    return "body: not valid JSON"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
        detail = _unparsed_body(exc.__cause__)
        return problem(status=422, code="validation", title="Invalid input", detail=detail,
                       errors=[{"loc": ["body"], "msg": detail.removeprefix("body: ")}])
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(status=exc.status_code, code=code, title=title, detail=detail,
                   headers=headers_of(request, exc))


def headers_of(request: Request, exc: StarletteHTTPException) -> dict[str, str] | None:
    """The headers of an HTTP refusal; a 405's `Allow` names every method of the path."""
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        allowed = allowed_methods(request.app.router.routes, request.scope["path"])
        if allowed is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
            headers["Allow"] = allowed
    return headers or None


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    # The database is down or unreachable: nothing was written (the transaction did not
    # commit); the client may retry later.
    log.error("storage_unavailable", error=type(exc).__name__, message=str(exc)[:200])
    await _check_pools(request)
    return problem(status=503, code="storage_unavailable", title="Storage unavailable",
                   detail="the database cannot be reached; nothing was written, retry later",
                   headers={"Retry-After": "5"})


CHECK_POOLS_EVERY = 1.0  # seconds: one check of the read pools after storage errors


async def _check_pools(request: Request) -> None:
    """After a storage error, the read pools drop every connection the server closed (a
    restart, terminated backends) at once, so the following requests do not fail one
    dead connection each; at most once a second."""
    state = request.app.state
    read_models = getattr(state, "read_models", None)
    db = getattr(read_models, "db", None)
    now = time.monotonic()
    if db is None or now - getattr(state, "pools_checked_at", -CHECK_POOLS_EVERY) < (
            CHECK_POOLS_EVERY):
        return
    state.pools_checked_at = now
    await db.acheck_pools()


async def _relation_missing(request: Request, exc: Exception) -> Response:
    log.error("storage_relation_missing", error=type(exc).__name__, message=str(exc)[:200])
    return problem(status=503, code="storage_unavailable", title="Storage unavailable",
                   detail="a table the answer reads is missing (a projection failing or "
                   "being rebuilt: see GET /health); nothing was written, retry later",
                   headers={"Retry-After": "5"})


async def _storage_refused(request: Request, exc: Exception) -> Response:
    log.warning("storage_refused_input", error=type(exc).__name__, message=str(exc)[:200])
    return problem(status=422, code="validation", title="Invalid input",
                   detail="the store refused a value of this request (e.g. a NUL character "
                   "or a number out of range); nothing was written")


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A bug, not a refusal: log it with the request's context and answer a problem.
    log.exception("request_failed", error=type(exc).__name__)
    return problem(status=500, code="internal_error", title="Internal error",
                   detail="an unexpected error occurred; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for storage_error in STORAGE_ERRORS:
        app.add_exception_handler(storage_error, _storage_unavailable)
    for missing in MISSING_RELATIONS:
        app.add_exception_handler(missing, _relation_missing)
    for data_error in DATA_ERRORS:
        app.add_exception_handler(data_error, _storage_refused)
    app.add_exception_handler(Exception, _unexpected)


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> str | None:
    """The `Allow` of a 405 for `path`: the methods of every route whose path matches it,
    HEAD wherever GET is (api/middleware.HeadMiddleware serves it), sorted; None if no
    route with methods matches. (Starlette names only the first matching route's methods:
    `Allow: POST` for a path that also has a GET route.)"""
    iterate = getattr(routing, "iter_route_contexts", None)
    methods: set[str] = set()
    for route in iterate(routes) if iterate else iter(routes):
        regex, own = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and own and regex.match(path):
            methods |= set(own)
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) or None
