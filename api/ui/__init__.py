"""The read-only dashboard at /ui: server-rendered pages over the read models.

Jinja2 renders every page on the server from the same read models the API answers
from; htmx (one vendored file) swaps a page's figures when the live cue says the
ledger moved; Chart.js (one vendored file) draws the charts, each beside a table of
the same numbers. Every asset is package data: nothing is loaded from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.ui import session
from api.ui.pages import router

STATIC = Path(__file__).parent / "static"


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, session.SignInRequired)
    return RedirectResponse(session.sign_in_url(exc.back_to), status_code=303)


def install_ui(app: FastAPI) -> None:
    """Adds the dashboard's pages, its static assets and the redirect to sign in."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(session.SignInRequired, _to_sign_in)
