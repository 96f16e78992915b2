"""Health for operators: the database, and each projection's position, lag and failure."""

from __future__ import annotations

import os
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import LedgerDep
from api.schemas.audit import Health

router = APIRouter(tags=["health"])
log = structlog.get_logger("api")


def _read_status(ledger: Any, read_models: Any) -> tuple[int, dict[str, Any]]:
    head = ledger.head()[0]
    return head, read_models.projection_status() if read_models is not None else {}


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def get_health(*, ledger: LedgerDep, request: Request) -> Any:
    """No key needed. `status` is `degraded` (503) when the database is unreachable, or a
    projection fails or lags more than LEDGER_PROJECTION_MAX_LAG events behind the log, or
    its tables were written by an earlier release (`outdated`, with the `fix` to run).

    Every worker answers the same: failures are read from the database, where the
    worker that runs the projections records them.
    """
    read_models = request.app.state.read_models
    max_lag: int = request.app.state.settings.projection_max_lag
    try:
        head, status, database = *_read_status(ledger, read_models), "ok"
    except Exception as exc:  # any failure to reach the store is "unreachable"
        try:  # unless it was a connection the server closed: drop those, ask once more
            if read_models is None:
                raise
            read_models.db.check_pools()
            head, status, database = *_read_status(ledger, read_models), "ok"
        except Exception:
            log.warning("database_unreachable", error=repr(exc))
            head, status, database = 0, {}, "unreachable"
    projections = [
        _projection(name, state, head=head, max_lag=max_lag)
        for name, state in sorted(status.items())
    ]
    healthy = database == "ok" and all(p["status"] == "ok" for p in projections)
    document = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "head": head,
        "max_lag": max_lag,
        "runner": read_models.runner_role() if read_models is not None else "off",
        "pid": os.getpid(),
        "projections": projections,
    }
    return document if healthy else JSONResponse(document, status_code=503)


def _projection(name: str, state: dict[str, Any], *, head: int, max_lag: int) -> dict[str, Any]:
    lag = max(head - int(state["position"]), 0)
    outdated = bool(state.get("outdated"))
    status = ("failing" if state["error"] else "outdated" if outdated
              else "lagging" if lag > max_lag else "ok")
    rebuilding = state.get("rebuilding")
    return {"name": name, "position": state["position"], "lag": lag, "status": status,
            "error": state["error"], "failing_since": state["failing_since"],
            "fix": f"ledger replay --projection {name}" if outdated else None,
            "rebuilding": None if rebuilding is None else {
                **rebuilding, "lag": max(head - int(rebuilding["position"]), 0)}}
