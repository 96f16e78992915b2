"""Small builders for tests: a funded programme and phase, recipients, actors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger import Actor, Ledger, Money, NewRecipient


def money(text: str) -> Money:
    return Money(Decimal(text))


def actor(user: str, role: str, key: str | None = None) -> Actor:
    return Actor(user=user, role=role, correlation_id=f"test-{uuid.uuid4().hex[:8]}",
                 idempotency_key=key)


ADMIN = actor("ada", "admin")
FINANCE = actor("fritz", "finance")
FINANCE_2 = actor("frieda", "finance")
CLERK = actor("clara", "clerk")
CLERK_2 = actor("carl", "clerk")
APPROVER = actor("anna", "approver")


@dataclass
class Funded:
    programme_id: str
    phase_id: str
    year: int


def funded_phase(
    ledger: Ledger,
    *,
    budget: str = "20000000.00",
    envelope: str = "16000000.00",
    year: int = 2020,
    kinds: tuple[str, ...] = ("gemeinde", "stadt", "kreisfreie_stadt", "landkreis"),
    max_open: int = 1,
) -> Funded:
    suffix = uuid.uuid4().hex[:6]
    programme_id, phase_id = f"prog-{suffix}", f"{year}-{suffix}"
    ledger.create_programme(ADMIN, programme_id=programme_id, name="Starke Heimat",
                            funder="Land Hessen")
    ledger.appropriate_budget(FINANCE, programme_id=programme_id, fiscal_year=year,
                              amount=money(budget), effective_date=date(year, 1, 1))
    ledger.open_phase(ADMIN, programme_id=programme_id, phase_id=phase_id, name="Phase 1",
                      fiscal_year=year, envelope=money(envelope),
                      opens_on=date(year, 1, 1), closes_on=date(year, 12, 31),
                      eligible_kinds=list(kinds), max_open_per_recipient=max_open)
    return Funded(programme_id, phase_id, year)


def recipients(ledger: Ledger, count: int, kind: str = "gemeinde") -> list[str]:
    ids = [f"r{uuid.uuid4().hex[:10]}" for _ in range(count)]
    ledger.register_recipients(
        ADMIN, recipients=[NewRecipient(rid, f"Gemeinde {rid}", kind) for rid in ids]
    )
    return ids


def approved(ledger: Ledger, f: Funded, recipient_id: str, amount: str) -> str:
    day = date(f.year, 3, 1)
    application_id = ledger.submit_application(
        CLERK, phase_id=f.phase_id, recipient_id=recipient_id,
        requested_amount=money(amount), submitted_on=day,
    ).ids["application_id"]
    ledger.approve_application(APPROVER, application_id=application_id,
                               approved_amount=money(amount), decided_on=day)
    return application_id


def phase_at_its_first_snapshot(ledger: Ledger, *, envelope: str = "1000.00",
                                requested: str = "5000.00") -> tuple[Funded, list[str]]:
    """A phase with 499 submitted applications: its 500th version, which eventsourcing
    snapshots (ledger/core.py); answers the phase and the application ids."""
    f = funded_phase(ledger, envelope=envelope)
    ids = [
        ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                  requested_amount=money(requested),
                                  submitted_on=date(f.year, 3, 1)).ids["application_id"]
        for rid in recipients(ledger, 499)
    ]
    assert ledger.phase(f.phase_id).version == 500
    return f, ids
