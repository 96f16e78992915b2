"""How each event changes the state of the entity it belongs to (programme, phase,
recipient, application): one function per event, on plain JSON states (money in cents)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projections.events import LoggedEvent, cents


@dataclass
class Entity:
    kind: str
    entity_id: str
    state: dict[str, Any]
    position: int = 0


# -- state changes, one function per event ---------------------------------------------------

Handler = Callable[[Entity | None, LoggedEvent], Entity]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(aggregate: str, *event_types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            HANDLERS[(aggregate, event_type)] = handler
        return handler

    return register


def _existing(entity: Entity | None, e: LoggedEvent) -> Entity:
    if entity is None:
        raise LookupError(f"{e.aggregate}.{e.event_type} at {e.position} before its creation")
    return entity


@handles("Programme", "Registered")
def _programme_registered(_: Entity | None, e: LoggedEvent) -> Entity:
    f = e.field
    state = {"programme_id": f("programme_id"), "name": f("name"), "funder": f("funder"),
             "budgets": {}, "phases": [], "registered_on": e.effective_date}
    return Entity("programme", f("programme_id"), state)


def _year(state: dict[str, Any], fiscal_year: int) -> dict[str, Any]:
    years: dict[str, dict[str, Any]] = state["budgets"]
    return years.setdefault(str(fiscal_year), {
        "fiscal_year": fiscal_year, "appropriation": 0, "carried_in": 0, "funded": 0,
        "direct": 0, "lapsed": 0, "carried_out": 0, "status": "open", "closed_on": None,
    })


@handles("Programme", "BudgetAppropriated", "BudgetAmended", "DirectExpenditureRecorded",
         "PhaseFunded", "FiscalYearClosed")
def _programme_budget(entity: Entity | None, e: LoggedEvent) -> Entity:
    entity = _existing(entity, e)
    f = e.field
    year = _year(entity.state, f("fiscal_year"))
    if e.event_type == "BudgetAppropriated":
        year["appropriation"] += cents(f("amount"))
    elif e.event_type == "BudgetAmended":
        year["appropriation"] = cents(f("new_amount"))
    elif e.event_type == "DirectExpenditureRecorded":
        year["direct"] += cents(f("amount"))
    elif e.event_type == "PhaseFunded":
        year["funded"] += cents(f("amount"))
        entity.state["phases"].append(f("phase_id"))
    else:
        year["lapsed"] += cents(f("lapsed"))
        year["carried_out"] += cents(f("carried_over"))
        year["status"], year["closed_on"] = "closed", e.effective_date
        if carried := cents(f("carried_over")):  # none: the next year is no budget (yet)
            _year(entity.state, f("fiscal_year") + 1)["carried_in"] += carried
    return entity


@handles("Phase", "Opened")
def _phase_opened(_: Entity | None, e: LoggedEvent) -> Entity:
    f = e.field
    state = {"phase_id": f("phase_id"), "programme_id": f("programme_id"), "name": f("name"),
             "fiscal_year": f("fiscal_year"), "envelope": cents(f("envelope")),
             "opens_on": f("opens_on"), "closes_on": f("closes_on"),
             "eligible_kinds": list(f("eligible_kinds")),
             "max_open_per_recipient": f("max_open_per_recipient"),
             "allow_award_above_request": bool(f("allow_award_above_request", False))}
    return Entity("phase", f("phase_id"), state)


@handles("Recipient", "Registered")
def _recipient_registered(_: Entity | None, e: LoggedEvent) -> Entity:
    f = e.field
    state = {"recipient_id": f("recipient_id"), "name": f("name"), "kind": f("kind"),
             "population": f("population"), "district_id": f("district_id"),
             "registered_on": e.effective_date}
    return Entity("recipient", f("recipient_id"), state)


def _measures(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"category": m["category"], "description": m["description"],
             "amount": cents(m["amount"])} for m in items]


def _evidence(e: LoggedEvent) -> dict[str, Any]:
    """The event behind a figure kept in the state (for drill-downs)."""
    return {"position": e.position, "event_type": e.event_type,
            "effective_date": e.effective_date, "recorded_at": e.recorded_at}


@handles("Application", "Submitted")
def _submitted(_: Entity | None, e: LoggedEvent) -> Entity:
    f = e.field
    state = {
        "application_id": f("application_id"), "programme_id": f("programme_id"),
        "phase_id": f("phase_id"), "fiscal_year": f("fiscal_year"),
        "recipient_id": f("recipient_id"), "recipient_kind": f("recipient_kind"),
        "status": "submitted", "requested": cents(f("requested_amount")),
        "requested_by": _evidence(e), "measures": _measures(f("measures")),
        "reference": f("reference"), "submitted_on": e.effective_date, "decided_on": None,
        "decision_reference": None, "closed_on": None, "awarded": 0, "paid": 0, "repaid": 0,
        "released": 0, "drawdowns": [], "proofs_of_use": [],
    }
    return Entity("application", f("application_id"), state)


@handles("Application", "Amended", "Withdrawn", "Rejected", "Approved", "AwardAmended",
         "RepaymentReceived", "ProofOfUseSubmitted", "Closed", "Revoked")
def _application_changed(entity: Entity | None, e: LoggedEvent) -> Entity:
    entity = _existing(entity, e)
    s, f, kind = entity.state, e.field, e.event_type
    if kind == "Amended":
        s["requested"], s["requested_by"] = cents(f("requested_amount")), _evidence(e)
        s["measures"] = _measures(f("measures"))
    elif kind in ("Withdrawn", "Rejected"):
        s["status"], s["decided_on"] = kind.lower(), e.effective_date
    elif kind == "Approved":
        s["status"], s["decided_on"] = "approved", e.effective_date
        s["awarded"], s["decision_reference"] = cents(f("approved_amount")), f("decision_reference")
    elif kind == "AwardAmended":
        s["awarded"] = cents(f("new_amount"))
    elif kind == "RepaymentReceived":
        s["repaid"] += cents(f("amount"))
    elif kind == "ProofOfUseSubmitted":
        s["proofs_of_use"].append({"submitted_on": e.effective_date,
                                   "spent_amount": cents(f("spent_amount"))})
    else:  # Closed, Revoked
        s["status"], s["closed_on"] = kind.lower(), e.effective_date
        s["released"] += cents(f("released"))
        cancelled = set(f("cancelled_drawdowns", []))
        for drawdown in s["drawdowns"]:
            if drawdown["drawdown_id"] in cancelled:
                drawdown["status"] = "cancelled"
    return entity


@handles("Application", "DrawdownRequested", "DrawdownPaid", "DrawdownCancelled")
def _drawdown(entity: Entity | None, e: LoggedEvent) -> Entity:
    entity = _existing(entity, e)
    s, f = entity.state, e.field
    if e.event_type == "DrawdownRequested":
        s["drawdowns"].append({"drawdown_id": f("drawdown_id"), "amount": cents(f("amount")),
                               "status": "requested", "requested_on": e.effective_date,
                               "paid_on": None})
        return entity
    wanted = f("drawdown_id")  # once: an application may have many drawdowns
    drawdown = next(d for d in s["drawdowns"] if d["drawdown_id"] == wanted)
    if e.event_type == "DrawdownPaid":
        drawdown["status"], drawdown["paid_on"] = "paid", e.effective_date
        s["paid"] += cents(f("amount"))
    else:
        drawdown["status"] = "cancelled"
    return entity
