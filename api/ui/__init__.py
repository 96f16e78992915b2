"""The read-only dashboard at /ui: server-rendered pages over the read models.

Jinja2 renders every page on the server from the same read models the API answers
from; htmx (one vendored file) swaps a page's figures when the live cue says the
ledger moved; Chart.js (one vendored file) draws the charts, each beside a table of
the same numbers. Every asset is package data: nothing is loaded from a CDN.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import headers_of
from api.ui import labels, session
from api.ui.pages import router
from api.ui.rendering import lang_of, refusal_page

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

STATIC = Path(__file__).parent / "static"


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, session.SignInRequired)
    return RedirectResponse(session.sign_in_url(exc.back_to), status_code=303)


def _on_pages(api_handler: Handler) -> Handler:
    """The app's handler of a refusal FastAPI raises before a route runs, answering the
    dashboard's error page under /ui (the API elsewhere keeps problem+json)."""

    async def handle(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if not (path == "/ui" or path.startswith("/ui/")) or path.startswith("/ui/static/"):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        if isinstance(exc, RequestValidationError):
            return refusal_page(request, 422, "; ".join(_said(e) for e in exc.errors()[:10]))
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return refusal_page(request, 404, labels.text("no_such_page", lang_of(request)))
        said = (labels.text("method_not_allowed", lang_of(request))
                if exc.status_code == 405 else str(exc.detail))
        return refusal_page(request, exc.status_code, said, headers=headers_of(request, exc))

    return handle


def _said(error: Any) -> str:
    """`path.position: Input should be a valid integer` as `position: …` (what the page
    shows: the parameter, not where FastAPI found it)."""
    loc = [str(part) for part in error.get("loc", ())][1:]
    return f"{'.'.join(loc)}: {error.get('msg', '')}" if loc else str(error.get("msg", ""))


def install_ui(app: FastAPI) -> None:
    """Adds the dashboard's pages, its static assets, the redirect to sign in and its
    error page for refusals FastAPI raises (after `install_error_handlers`, whose
    handlers it keeps for every path outside /ui)."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(session.SignInRequired, _to_sign_in)
    for refusal in (RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(refusal, _on_pages(app.exception_handlers[refusal]))
