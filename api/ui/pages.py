"""The dashboard's routes: server-rendered pages (Jinja2), read-only, signed in by cookie.

Each handler names its page and what it shows (api/ui/contexts.py); `render` signs the
caller in, resolves the view (as-of, cut-off) and reads in the threadpool, and answers
a refusal of the read side as an HTML page with the refusal's status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.errors import status_of
from api.feed import MAX_STREAMS
from api.routers.stream import SSE_HEADERS, counted, head_watch
from api.ui import contexts, downloads, session
from api.ui.formats import OutOfRange, from_local, known_lang
from api.ui.live import positions
from api.ui.rendering import PAGE_HEADERS, error_page, lang_of, page, templates
from api.ui.view import AUDIT_ROLES, INTEGRITY_ROLES, View, resolve, view_of
from ledger.errors import LedgerError, ValidationFailed
from projections.base import is_digits

router = APIRouter(prefix="/ui", include_in_schema=False)
Json = dict[str, Any]
AUDIT_FILTERS = ("entity_id", "actor", "event_type", "recorded_from", "recorded_to")


async def render(request: Request, template: str, build: Callable[[View], Json], *,
                 roles: frozenset[str] | None = None) -> Response:
    user = session.require_user(request)
    view = View(user=user, path=request.url.path, lang=lang_of(request))
    try:
        view = view_of(request, user)
        if roles is not None and not user.roles & roles:
            return error_page(request, view, 403, ", ".join(sorted(roles)))
        state = request.app.state
        await run_in_threadpool(resolve, view, state.ledger, state.read_models)
        context = await run_in_threadpool(build, view)
    except LedgerError as exc:
        return error_page(request, view, status_of(exc), exc.detail)
    return page(request, template, view, context)


def _read(request: Request) -> Any:
    return request.app.state.read_models


# -- signing in ------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {
        "lang": lang_of(request), "next": session.safe_next(request.query_params.get("next")),
        "failed": False}, headers=PAGE_HEADERS)


@router.post("/login")
async def login(request: Request) -> Response:
    # A form of three fields, parsed here: no multipart parser needed for it.
    form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0][:500]
    next = (form.get("next") or ["/ui"])[0]
    # the form's language (a hidden field), else the one the form was posted to
    lang = known_lang((form.get("lang") or [lang_of(request)])[0])
    keys = request.app.state.api_keys
    principal = keys.authenticate(key.strip()) if keys is not None and key.strip() else None
    if principal is None:
        return templates.TemplateResponse(request, "login.html", {
            "lang": lang, "next": session.safe_next(next),
            "failed": True}, status_code=401, headers=PAGE_HEADERS)
    answer = RedirectResponse(session.safe_next(next), status_code=303)
    answer.set_cookie(session.COOKIE, key.strip(), max_age=session.MAX_AGE_SECONDS,
                      path=session.COOKIE_PATH, httponly=True, samesite="strict",
                      secure=request.url.scheme == "https")
    return answer


@router.post("/logout")
async def logout() -> Response:
    answer = RedirectResponse(session.SIGN_IN_PATH, status_code=303)
    answer.delete_cookie(session.COOKIE, path=session.COOKIE_PATH, httponly=True,
                         samesite="strict")
    return answer


# -- pages -----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return await render(request, "home.html", lambda v: contexts.programmes(v, _read(request)))


@router.get("/programmes/{programme_id}", response_class=HTMLResponse)
async def programme_page(request: Request, programme_id: str) -> Response:
    return await render(request, "programme.html",
                        lambda v: contexts.programme(v, _read(request), programme_id))


def _carried(request: Request) -> int:
    """The running sum (cents) of the entry pages before this one, from the URL."""
    text = request.query_params.get("carried", "")
    return int(text) if is_digits(text.lstrip("-")) and len(text) < 19 else 0


# Before the figures' routes, whose {figure} would take "report".
@router.get("/phases/{phase_id}/report")
async def phase_report(request: Request, phase_id: str) -> Response:
    return await downloads.download(
        request, f"phase-{phase_id}",
        lambda read, at, on: read.phase_totals(phase_id, at=at, effective_on=on), "phase_totals")


@router.get("/programmes/{programme_id}/years/{year}/report")
async def reconciliation_report(request: Request, programme_id: str, year: int) -> Response:
    return await downloads.download(
        request, f"reconciliation-{programme_id}-{year}",
        lambda read, at, on: read.reconciliation(programme_id, year, at=at, effective_on=on),
        "reconciliation")


@router.get("/programmes/{programme_id}/years/{year}/{figure}", response_class=HTMLResponse)
async def year_entries(request: Request, programme_id: str, year: int, figure: str) -> Response:
    cursor, carried = request.query_params.get("cursor"), _carried(request)
    return await render(request, "entries.html", lambda v: contexts.entries(
        v, _read(request), programme_id=programme_id, year=year, figure=figure, cursor=cursor,
        carried=carried))


@router.get("/phases/{phase_id}", response_class=HTMLResponse)
async def phase_page(request: Request, phase_id: str) -> Response:
    q = request.query_params
    return await render(request, "phase.html", lambda v: contexts.phase(
        v, _read(request), phase_id, search=(q.get("q") or "").strip()[:100] or None,
        cursor=q.get("cursor")))


@router.get("/phases/{phase_id}/figures/{figure}", response_class=HTMLResponse)
async def phase_entries(request: Request, phase_id: str, figure: str) -> Response:
    cursor, carried = request.query_params.get("cursor"), _carried(request)
    kind = request.query_params.get("recipient_kind") or None  # a cell of the kinds table
    return await render(request, "entries.html", lambda v: contexts.entries(
        v, _read(request), phase_id=phase_id, figure=figure, cursor=cursor, carried=carried,
        recipient_kind=kind))


@router.get("/applications/{application_id}", response_class=HTMLResponse)
async def application_page(request: Request, application_id: str) -> Response:
    q = request.query_params
    return await render(request, "application.html", lambda v: contexts.application(
        v, _read(request), application_id, cursor=q.get("cursor"),
        repayments_cursor=q.get("repayments_cursor")))


@router.get("/events/{position}", response_class=HTMLResponse)
async def event_page(request: Request, position: int) -> Response:
    ledger = request.app.state.ledger
    return await render(request, "event.html", lambda v: contexts.event(ledger, position),
                        roles=AUDIT_ROLES)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request) -> Response:
    q = request.query_params
    filters = {name: (q.get(name) or "").strip()[:100] or None for name in AUDIT_FILTERS}

    def build(v: View) -> Json:
        asked = dict(filters)
        for name in ("recorded_from", "recorded_to"):
            if asked[name]:
                try:
                    asked[name] = from_local(str(asked[name])).isoformat()
                except OutOfRange as exc:
                    raise ValidationFailed(f"{name}: {exc}") from None
                except ValueError:
                    raise ValidationFailed(f"{name}: a date and time") from None
        return contexts.audit(v, _read(request), asked, cursor=q.get("cursor")) | {
            "shown": {k: v or "" for k, v in filters.items()}}

    return await render(request, "audit.html", build, roles=AUDIT_ROLES)


@router.get("/integrity", response_class=HTMLResponse)
async def integrity_page(request: Request) -> Response:
    ledger = request.app.state.ledger
    return await render(request, "integrity.html", lambda v: contexts.integrity(ledger),
                        roles=INTEGRITY_ROLES)


@router.get("/stream")
async def live(request: Request) -> Response:
    """The positions the read models reached, as SSE: the dashboard's cue to refresh."""
    session.require_user(request)
    after = request.query_params.get("after", "")
    watch = head_watch(request, request.app.state.ledger)
    if watch.streams >= MAX_STREAMS:  # the browser's EventSource retries by itself
        return Response(status_code=429, headers={"Retry-After": "5"})
    cues = positions(request.app.state.read_models, watch,
                     after=int(after) if is_digits(after) else 0,
                     disconnected=request.is_disconnected)
    return StreamingResponse(counted(watch, cues), media_type="text/event-stream",
                             headers=SSE_HEADERS)
