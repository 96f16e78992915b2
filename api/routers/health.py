"""Liveness for operators: the database and how far each projection lags."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import LedgerDep
from api.schemas.audit import Health

router = APIRouter(tags=["health"])
log = structlog.get_logger("api")


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def get_health(*, ledger: LedgerDep, request: Request) -> Any:
    """No key needed: `status` is ok, or degraded when the database is unreachable."""
    try:
        head = ledger.head()[0]
        database = "ok"
    except Exception as exc:  # any failure to reach the store is "unreachable"
        log.warning("database_unreachable", error=repr(exc))
        head, database = 0, "unreachable"
    read_models = request.app.state.read_models
    positions: dict[str, int] = read_models.positions() if read_models is not None else {}
    document = {
        "status": "ok" if database == "ok" else "degraded",
        "database": database,
        "head": head,
        "projections": [
            {"name": name, "position": position, "lag": max(head - position, 0)}
            for name, position in sorted(positions.items())
        ],
    }
    return document if database == "ok" else JSONResponse(document, status_code=503)
