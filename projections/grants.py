"""The grants projection: current state of every entity, its history, and the ledger entries.

Three tables, written in one transaction per batch:

- `entities`: the current state of each programme, phase, recipient and
  application (JSON, money in cents), keyed by aggregate id;
- `entity_history`: one row per state change, with its position, so any
  state as of a position is the latest row at or before it;
- `entries`: one row per leg of every posting (source leg negative, target leg
  positive), tagged with programme, fiscal year, phase, application and
  recipient kind. Every money figure of SPEC §5 is a filtered sum of legs with
  `position <= at`, and its drill-down is the same filter without the sum.

The phase's own events carry no postings (the programme's and application's
events do), so they are not read here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from projections.base import Table
from projections.db import Tx
from projections.events import LoggedEvent, cents

STATE_COLUMNS = (
    ("kind", "TEXT NOT NULL"),
    ("entity_id", "TEXT NOT NULL"),
    ("position", "BIGINT NOT NULL"),
    ("programme_id", "TEXT"),
    ("phase_id", "TEXT"),
    ("recipient_id", "TEXT"),
    ("fiscal_year", "INTEGER"),
    ("status", "TEXT"),
    ("state", "TEXT NOT NULL"),
)
ENTITIES = Table(
    "entities",
    (("originator_id", "TEXT NOT NULL"), *STATE_COLUMNS),
    key=("originator_id",),
    indexes=(("kind", "entity_id"), ("kind", "phase_id"), ("kind", "recipient_id"),
             ("kind", "programme_id")),
)
HISTORY = Table(
    "entity_history",
    STATE_COLUMNS,
    key=("kind", "entity_id", "position"),
    indexes=(("kind", "phase_id"), ("kind", "recipient_id"), ("kind", "programme_id")),
)
ENTRIES = Table(
    "entries",
    (
        ("position", "BIGINT NOT NULL"),
        ("leg", "INTEGER NOT NULL"),
        ("recorded_at", "TEXT NOT NULL"),
        ("effective_date", "TEXT NOT NULL"),
        ("event_type", "TEXT NOT NULL"),
        ("programme_id", "TEXT NOT NULL"),
        ("fiscal_year", "INTEGER"),
        ("phase_id", "TEXT"),
        ("application_id", "TEXT"),
        ("recipient_id", "TEXT"),
        ("recipient_kind", "TEXT"),
        ("account", "TEXT NOT NULL"),
        ("account_kind", "TEXT NOT NULL"),
        ("account_year", "INTEGER"),
        ("amount", "BIGINT NOT NULL"),
    ),
    key=("position", "leg"),
    indexes=(("phase_id", "position"), ("programme_id", "position"), ("application_id",)),
)
YEAR_ACCOUNTS = ("appropriation", "unallocated", "direct", "repaid", "lapsed")


@dataclass
class Entity:
    kind: str
    entity_id: str
    state: dict[str, Any]
    position: int = 0

    def columns(self) -> tuple[Any, ...]:
        s = self.state
        return (self.kind, self.entity_id, self.position, s.get("programme_id"),
                s.get("phase_id"), s.get("recipient_id"), s.get("fiscal_year"), s.get("status"),
                json.dumps(s, sort_keys=True, separators=(",", ":")))


class GrantsProjection:
    name: str = "grants"
    tables: tuple[Table, ...] = (ENTITIES, HISTORY, ENTRIES)

    def apply(self, tx: Tx, tag: str, events: Sequence[LoggedEvent]) -> None:
        entities = _load(tx, tag, {e.originator_id for e in events})
        latest: dict[str, tuple[Any, ...]] = {}
        history: list[tuple[Any, ...]] = []
        legs: list[tuple[Any, ...]] = []
        for e in events:
            handler = HANDLERS.get((e.aggregate, e.event_type))
            if handler is None:
                continue
            entity = handler(entities.get(e.originator_id), e)
            entity.position = e.position
            entities[e.originator_id] = entity
            row = entity.columns()
            history.append(row)
            latest[e.originator_id] = row
            legs.extend(_legs(entity, e))
        tx.insert_rows(HISTORY.name(tag), HISTORY.column_names, history)
        tx.insert_rows(ENTRIES.name(tag), ENTRIES.column_names, legs)
        tx.upsert_rows(ENTITIES.name(tag), ENTITIES.column_names, "originator_id",
                       ("position", "status", "state"),
                       [(oid, *row) for oid, row in latest.items()])


def _load(tx: Tx, tag: str, ids: set[str]) -> dict[str, Entity]:
    found: dict[str, Entity] = {}
    pending = sorted(ids)
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for oid, kind, entity_id, position, state in tx.execute(
            f"SELECT originator_id, kind, entity_id, position, state FROM {ENTITIES.name(tag)} "
            f"WHERE originator_id IN ({marks})",
            chunk,
        ):
            found[str(oid)] = Entity(str(kind), str(entity_id), json.loads(state), int(position))
    return found


def _legs(entity: Entity, e: LoggedEvent) -> list[tuple[Any, ...]]:
    postings = e.postings()
    if not postings:
        return []
    s = entity.state
    is_application = entity.kind == "application"
    programme_id = s["programme_id"]
    fiscal_year = s["fiscal_year"] if is_application else e.field("fiscal_year")
    phase_id = s["phase_id"] if is_application else e.field("phase_id")
    application_id = s["application_id"] if is_application else None
    recipient_id = s["recipient_id"] if is_application else None
    recipient_kind = s["recipient_kind"] if is_application else None
    rows = []
    for n, posting in enumerate(postings):
        amount = cents(posting["amount"])
        for leg, account, signed in ((2 * n, posting["source"], -amount),
                                     (2 * n + 1, posting["target"], amount)):
            account_kind, _, rest = account.partition(":")
            account_year = int(rest) if account_kind in YEAR_ACCOUNTS else None
            rows.append((e.position, leg, e.recorded_at, e.effective_date, e.event_type,
                         programme_id, fiscal_year, phase_id, application_id, recipient_id,
                         recipient_kind, account, account_kind, account_year, signed))
    return rows


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
        _year(entity.state, f("fiscal_year") + 1)["carried_in"] += cents(f("carried_over"))
    return entity


@handles("Phase", "Opened")
def _phase_opened(_: Entity | None, e: LoggedEvent) -> Entity:
    f = e.field
    state = {"phase_id": f("phase_id"), "programme_id": f("programme_id"), "name": f("name"),
             "fiscal_year": f("fiscal_year"), "envelope": cents(f("envelope")),
             "opens_on": f("opens_on"), "closes_on": f("closes_on"),
             "eligible_kinds": list(f("eligible_kinds")),
             "max_open_per_recipient": f("max_open_per_recipient")}
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
        for drawdown in s["drawdowns"]:
            if drawdown["drawdown_id"] in f("cancelled_drawdowns", []):
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
    drawdown = next(d for d in s["drawdowns"] if d["drawdown_id"] == f("drawdown_id"))
    if e.event_type == "DrawdownPaid":
        drawdown["status"], drawdown["paid_on"] = "paid", e.effective_date
        s["paid"] += cents(f("amount"))
    else:
        drawdown["status"] = "cancelled"
    return entity
