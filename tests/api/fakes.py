"""A ReadModels fake answered from the write side, so API tests need no projection.

It honours the Protocol's shapes, not its as-of semantics: `at` is ignored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api import state
from ledger import Ledger
from ledger.errors import NotFound, ValidationFailed

Json = dict[str, Any]


class FakeReadModels:
    def __init__(self, ledger: Ledger, *, lagging: bool = False) -> None:
        self.ledger = ledger
        self.lagging = lagging
        self.calls: list[tuple[str, int | None]] = []

    # -- positions -------------------------------------------------------------
    def position(self) -> int:
        return 0 if self.lagging else self.ledger.head()[0]

    def positions(self) -> dict[str, int]:
        return {"fake": self.position()}

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        return self.position() >= position

    def reached(self, position: int) -> bool:
        return False  # every wait goes through wait_for

    def peek(self, query: Any, *args: Any, **kwargs: Any) -> Json | None:
        return None  # nothing is kept: every answer is computed

    def projection_status(self) -> dict[str, Json]:
        return {"fake": {"position": self.position(), "error": None, "failing_since": None}}

    def runner_role(self) -> str:
        return "off"

    # -- state -----------------------------------------------------------------
    def application(self, application_id: str, *, at: int | None = None) -> Json:
        self.calls.append(("application", at))
        return state.application(self.ledger, application_id, self.position())

    def _application_ids(self) -> list[str]:
        events = self.ledger.chained_recorder.select_chained_events(after=0, limit=1_000_000)
        return [str(e.originator_id) for e in events if e.topic.endswith("Application.Submitted")]

    def applications(self, *, phase_id: str | None = None, recipient_id: str | None = None,
                     status: str | None = None, reference: str | None = None,
                     text: str | None = None, cursor: str | None = None, limit: int = 100,
                     at: int | None = None) -> Json:
        self.calls.append(("applications", at))
        start = int(cursor) if cursor and cursor.isdigit() else 0
        if cursor and not cursor.isdigit():
            raise ValidationFailed("cursor: not one of ours")
        rows = [state.application(self.ledger, a, self.position()) for a in self._application_ids()]
        rows = [r for r in rows if (phase_id is None or r["phase_id"] == phase_id)
                and (recipient_id is None or r["recipient_id"] == recipient_id)
                and (status is None or r["status"] == status)]
        page = rows[start:start + limit]
        more = start + limit < len(rows)
        return {"items": page, "next_cursor": str(start + limit) if more else None,
                "position": self.position()}

    def programme(self, programme_id: str, *, at: int | None = None) -> Json:
        self.calls.append(("programme", at))
        return state.programme(self.ledger, programme_id, self.position())

    def phase(self, phase_id: str, *, at: int | None = None) -> Json:
        self.calls.append(("phase", at))
        return state.phase(self.ledger, phase_id, self.position())

    def recipient(self, recipient_id: str, *, at: int | None = None) -> Json:
        return state.recipient(self.ledger, recipient_id, self.position())

    # -- SPEC §5 ---------------------------------------------------------------
    def phase_totals(self, phase_id: str, *, at: int | None = None,
                     effective_on: date | None = None) -> Json:
        ph = self.ledger.phase(phase_id)
        z = "0.00"
        return {"phase_id": phase_id, "envelope": str(ph.envelope), "requested": z,
                "awarded": str(ph.committed), "released": z, "committed": str(ph.committed),
                "available": str(ph.available), "paid": z, "repaid": z, "net_paid": z,
                "outstanding": z, "counts": {}, "by_kind": {"gemeinde": {"paid": z}},
                "requested_by_category": {}, "position": self.position()}

    def phase_entries(self, phase_id: str, figure: str, *, cursor: str | None = None,
                      limit: int = 100, at: int | None = None,
                      effective_on: date | None = None,
                      recipient_kind: str | None = None) -> Json:
        self.ledger.phase(phase_id)
        if figure not in ("paid", "awarded", "requested"):
            raise NotFound(f"unknown figure {figure}")
        return {"items": [], "next_cursor": None, "total": "0.00", "position": self.position()}

    def reconciliation(self, programme_id: str, fiscal_year: int, *,
                       at: int | None = None, effective_on: date | None = None) -> Json:
        self.ledger.programme(programme_id).budget(fiscal_year)
        return {"programme_id": programme_id, "fiscal_year": fiscal_year,
                "appropriation": "1.00", "status": "open",
                "checks": [{"name": "identity_1", "left": "1.00", "right": "1.00",
                            "holds": True}],
                "balanced": True, "position": self.position()}

    def reconciliation_entries(self, programme_id: str, fiscal_year: int, figure: str, *,
                               cursor: str | None = None, limit: int = 100,
                               at: int | None = None,
                               effective_on: date | None = None) -> Json:
        self.ledger.programme(programme_id)
        return {"items": [], "next_cursor": None, "position": self.position()}

    def recipient_statement(self, recipient_id: str, *, at: int | None = None,
                            effective_on: date | None = None) -> Json:
        self.ledger.recipient(recipient_id)
        return {"recipient_id": recipient_id, "applications": [], "position": self.position()}

    def accounts(self, programme_id: str, *, cursor: str | None = None, limit: int = 100,
                 at: int | None = None, effective_on: date | None = None) -> Json:
        self.ledger.programme(programme_id)
        return {"accounts": [{"account": "phase:x", "balance": "1.00"},
                             {"account": "unallocated:2020", "balance": "-1.00"}],
                "by_kind": {"phase": "1.00", "unallocated": "-1.00"},
                "total": "0.00", "next_cursor": None, "position": self.position()}

    def audit(self, *, entity_id: str | None = None, actor: str | None = None,
              event_type: str | None = None, recorded_from: str | None = None,
              recorded_to: str | None = None, cursor: str | None = None, limit: int = 100,
              at: int | None = None) -> Json:
        self.calls.append(("audit", at))
        return {"items": [{"position": 1, "actor": actor or "ada", "data": {"a": 1}}],
                "next_cursor": None, "position": self.position()}

    def application_history(self, application_id: str, *, cursor: str | None = None,
                            limit: int = 100, at: int | None = None) -> Json:
        self.ledger.application(application_id)
        return {"items": [{"position": 1, "event_type": "Application.Submitted"}],
                "next_cursor": None, "position": self.position()}
