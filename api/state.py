"""Command answers from the write side: the aggregate a command changed, as JSON.

Commands answer without waiting for a projection: the aggregate as it stood at the
command's position is the resource's new state — and, for a replayed idempotent
request, exactly the first answer again. The field names match the read models'.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from ledger import CommandResult, Ledger, Money
from ledger.domain.grant import Grant
from ledger.domain.phase import Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient

Json = dict[str, Any]


def application(ledger: Ledger, application_id: str, position: int) -> Json:
    return application_json(ledger.application(application_id, at=position), position)


def application_json(app: Grant, position: int) -> Json:
    return {
        "application_id": app.application_id,
        "programme_id": app.programme_id,
        "phase_id": app.phase_id,
        "recipient_id": app.recipient_id,
        "status": app.status,
        "reference": app.reference,
        "requested": str(app.requested),
        "awarded": str(app.awarded),
        "paid": str(app.paid),
        "repaid": str(app.repaid),
        "released": str(app.released),
        "outstanding": str(app.outstanding),
        "measures": [_jsonable(m) for m in app.measures],
        "drawdowns": [
            {
                "drawdown_id": d.drawdown_id,
                "amount": str(d.amount),
                "status": d.status,
                "requested_on": d.requested_on.isoformat(),
                "paid_on": d.paid_on.isoformat() if d.paid_on else None,
            }
            for d in app.drawdowns.values()
        ],
        "position": position,
    }


def programme(ledger: Ledger, programme_id: str, position: int) -> Json:
    return programme_json(ledger.programme(programme_id, at=position), position)


def programme_json(prog: Programme, position: int) -> Json:
    budgets = [
        {
            "fiscal_year": year,
            "appropriation": str(budget.appropriation),
            "carried_in": str(budget.carried_in),
            "funded_to_phases": str(budget.funded),
            "direct_expenditure": str(budget.direct),
            "unallocated": str(budget.unallocated),
            "lapsed": str(budget.lapsed),
            "carried_out": str(budget.carried_out),
            "status": "closed" if budget.closed else "open",
        }
        for year, budget in sorted(prog.years.items())
        if budget.appropriated or budget.carried_in
    ]
    return {"programme_id": prog.programme_id, "name": prog.name, "funder": prog.funder,
            "budgets": budgets, "position": position}


def phase(ledger: Ledger, phase_id: str, position: int) -> Json:
    return phase_json(ledger.phase(phase_id, at=position), position)


def phase_json(ph: Phase, position: int) -> Json:
    return {
        "phase_id": ph.phase_id,
        "programme_id": ph.programme_id,
        "name": ph.name,
        "fiscal_year": ph.fiscal_year,
        "envelope": str(ph.envelope),
        "committed": str(ph.committed),
        "available": str(ph.available),
        "opens_on": ph.opens_on.isoformat(),
        "closes_on": ph.closes_on.isoformat(),
        "eligible_kinds": list(ph.eligible_kinds),
        "max_open_per_recipient": ph.max_open_per_recipient,
        "allow_award_above_request": getattr(ph, "allow_award_above_request", False),
        "position": position,
    }


def recipient(ledger: Ledger, recipient_id: str, position: int) -> Json:
    return recipient_json(ledger.recipient(recipient_id, at=position), position)


def recipient_json(r: Recipient, position: int) -> Json:
    return {"recipient_id": r.recipient_id, "name": r.name, "kind": r.kind,
            "population": r.population, "district_id": r.district_id, "position": position}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def replayed(response: Response, result: CommandResult) -> None:
    """Marks an answer the ledger replayed for a repeated Idempotency-Key."""
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"


async def application_answer(
    ledger: Ledger, response: Response, result: CommandResult, application_id: str
) -> Json:
    """A command's answer on an application: its state at the command's position."""
    replayed(response, result)
    if isinstance(result.subject, Grant):  # as committed: no read of the store
        return application_json(result.subject, result.position)
    return await run_in_threadpool(application, ledger, application_id, result.position)


async def programme_answer(
    ledger: Ledger, response: Response, result: CommandResult, programme_id: str
) -> Json:
    replayed(response, result)
    if isinstance(result.subject, Programme):
        return programme_json(result.subject, result.position)
    return await run_in_threadpool(programme, ledger, programme_id, result.position)
