"""Reports to hand around, downloaded from the dashboard: the phase totals and a year's
reconciliation as PDF, HTML or xlsx — the documents `ledger report` writes (German,
verdicts, every page footed with the log position and head hash), for the view on
screen: its as-of moment and its business-date cut-off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from api.errors import status_of
from api.ui import session
from api.ui.rendering import error_page, lang_of
from api.ui.view import View, resolve, view_of
from ledger.errors import LedgerError, ValidationFailed

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Json = dict[str, Any]


async def download(request: Request, name: str,
                   answer_of: Callable[[Any, int | None, Any], Json], kind: str) -> Response:
    """`answer_of(read_models, at, effective_on)` is the figures; `kind` the report."""
    from scripts.exports import documents, reports  # fpdf2 and openpyxl load when asked

    user = session.require_user(request)
    format_ = request.query_params.get("format", "pdf")
    view = View(user=user, path=request.url.path, lang=lang_of(request))
    try:
        if format_ not in MEDIA_TYPES:
            raise ValidationFailed(f"format: one of {', '.join(MEDIA_TYPES)}, got {format_!r}")
        view = view_of(request, user)
        state = request.app.state
        await run_in_threadpool(resolve, view, state.ledger, state.read_models)

        def build() -> tuple[bytes, int]:
            answer = answer_of(state.read_models, view.at, view.effective_on)
            report = getattr(reports, kind)(state.ledger, state.read_models, answer)
            return documents.RENDERERS[format_](report), int(answer["position"])

        body, position = await run_in_threadpool(build)
    except LedgerError as exc:  # a link followed in the browser: the dashboard's page
        return error_page(request, view, status_of(exc), exc.detail)
    filename = f"{name}-position-{position}.{format_}"
    return Response(body, media_type=MEDIA_TYPES[format_], headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
