"""Answering with a page: the templates, the headers every page carries, and the error
page every refusal under /ui is — a route's, a download's, or one FastAPI raises before
a route runs (a path parameter that is not a number, a path no route has).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.ui import formats, session
from api.ui.view import View

Json = dict[str, Any]
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Scripts only from the dashboard's own files (no inline script anywhere), never framed;
# inline styles stay allowed for the chart library's canvas sizing.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def page(request: Request, template: str, view: View, context: Json,
         status: int = 200) -> Response:
    return templates.TemplateResponse(request, template, {"v": view, **context},
                                      status_code=status, headers=PAGE_HEADERS)


def lang_of(request: Request) -> str:
    """The page's language from its query (German unless it asks for a known other)."""
    return formats.known_lang(request.query_params.get("lang"))


def error_page(request: Request, view: View, status: int, detail: str,
               headers: Mapping[str, str] | None = None) -> Response:
    title = {403: "forbidden", 404: "not_found"}.get(status, "error")
    answer = page(request, "error.html", view, {"title": view.t(title), "detail": detail},
                  status)
    answer.headers.update(headers or {})  # e.g. a 405's Allow
    return answer


def refusal_page(request: Request, status: int, detail: str,
                 headers: Mapping[str, str] | None = None) -> Response:
    """The error page for a request no route answered (signed out: the sign-in form, as
    for every page, so a path's existence is told to signed-in users only)."""
    user = session.signed_in(request)
    if user is None:
        back_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(session.sign_in_url(back_to), status_code=303)
    view = View(user=user, path=request.url.path, lang=lang_of(request))
    return error_page(request, view, status, detail, headers)
