"""The Starke Heimat Hessen 2020 scenario (SPEC §1), loaded through the Ledger's Python API.

What it writes:

- programme `shh-digital` ("Starke Heimat Hessen – Digitalisierung", funder "Hessisches
  Ministerium des Innern und für Sport"), a budget of 20,000,000.00 EUR for each fiscal
  year 2020–2024;
- phase `2020-1` (fiscal year 2020, envelope 16,000,000.00 EUR, open 2020-01-01 to
  2020-12-31, all four recipient kinds eligible);
- the 443 authorities of `scripts/data/hessen_kommunen_2019.csv` (package data), registered
  in one bulk call;
- one application per authority, recorded by a clerk and approved by a different
  approver (four eyes), for exactly the amount of the distribution key below;
- the money "almost all drawn": one drawdown per grant, requested by the clerk and paid
  by finance; most grants are drawn in full, a few (`PARTIAL_SHARE` of the award) are
  drawn in part and the rest stays outstanding; three grants repay part of the money in
  December after their proof of use.

Distribution key. The programme's real key (the authorities' financial capacity) is not
published. Five awards are (Main-Kinzig-Kreis): Bruchköbel 54,912.00, Langenselbold
10,908.00, Hammersbach 8,948.00, Neuberg 9,939.00, Ronneburg 7,500.00 EUR; they are used
as published. The remaining 16,000,000.00 − 92,207.00 = 15,907,793.00 EUR go to the
other 438 authorities as

    award = BASE_AMOUNT (7,500.00 EUR, the smallest published award)
          + remainder × population / Σ population of the 438

where remainder = 15,907,793.00 − 438 × 7,500.00 and a district's population is that of
its municipalities (as in the data file), so a district's share mirrors the people it
serves. The per-inhabitant shares are computed exactly in integer cents, rounded down,
and the cents left over go one each to the largest remainders (ties: lower
recipient_id first) — the largest-remainder method — so the awards sum to exactly
16,000,000.00 EUR.

Writing: the programme, its budgets and the phase by their commands; the authorities in
one `RegisterRecipients` and the applications in one `SubmitApplications`; then every
decision, drawdown and repayment decided by its command's handler against the aggregates
held in memory and saved in one transaction. The last three are large saves that take the
recorder's bulk path (COPY on PostgreSQL): a dozen transactions instead of ~1,800.

Idempotency: the loader refuses to run twice. If programme `shh-digital`, phase `2020-1`
or any of the 443 recipients already exists, it raises `ledger.errors.AlreadyExists`
before writing a single event, so a store is either untouched or holds the whole scenario
(one run is not atomic as a whole: a crash midway leaves a partial scenario; load into a
fresh store). See docs/demo-data.md.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ledger import Actor, Ledger, Money, NewRecipient
from ledger.commands import (
    AppropriateBudget,
    ApproveApplication,
    CreateProgramme,
    NewApplication,
    OpenPhase,
    PayDrawdown,
    RecordRepayment,
    RegisterRecipients,
    RequestDrawdown,
    SubmitApplications,
    SubmitProofOfUse,
)
from ledger.errors import AlreadyExists, NotFound
from scripts.data import authorities_csv
from scripts.decide_in_memory import InMemory

PROGRAMME_ID = "shh-digital"
PROGRAMME_NAME = "Starke Heimat Hessen – Digitalisierung"
FUNDER = "Hessisches Ministerium des Innern und für Sport"
PHASE_ID = "2020-1"
BUDGET_YEARS = range(2020, 2025)
YEARLY_BUDGET = Money(Decimal("20000000.00"))
ENVELOPE = Money(Decimal("16000000.00"))
BASE_AMOUNT = Money(Decimal("7500.00"))
KINDS = ["gemeinde", "stadt", "kreisfreie_stadt", "landkreis"]

#: The published awards (Main-Kinzig-Kreis), by name as it starts in the data file.
PUBLISHED_AWARDS: dict[str, Money] = {
    "Bruchköbel": Money(Decimal("54912.00")),
    "Langenselbold": Money(Decimal("10908.00")),
    "Hammersbach": Money(Decimal("8948.00")),
    "Neuberg": Money(Decimal("9939.00")),
    "Ronneburg": Money(Decimal("7500.00")),
}

#: Grants drawn only in part: every PARTIAL_EVERY-th authority (by sorted id) that is
#: not one of the five published ones draws PARTIAL_SHARE of its award.
PARTIAL_EVERY = 37
PARTIAL_SHARE = Decimal("0.60")
#: Grants that pay part of the money back in December (index in sorted order, cents).
REPAYMENTS: dict[int, int] = {12: 123_456, 140: 250_000, 301: 98_765}

ADMIN = Actor(user="hmdis-admin", role="admin", correlation_id="demo-2020")
BUDGET_OFFICER = Actor(user="hmdis-haushalt", role="finance", correlation_id="demo-2020")
CLERK = Actor(user="sb-mueller", role="clerk", correlation_id="demo-2020")
APPROVER = Actor(user="bb-schneider", role="approver", correlation_id="demo-2020")
PAYMASTER = Actor(user="kasse-weber", role="finance", correlation_id="demo-2020")


@dataclass(frozen=True)
class Authority:
    recipient_id: str
    name: str
    kind: str
    population: int
    district_id: str | None


def read_authorities(data_file: Path | Traversable | None = None) -> list[Authority]:
    """The authorities of the data file (default: the one shipped), sorted by recipient_id."""
    text = (data_file or authorities_csv()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    authorities = [
        Authority(
            recipient_id=row["recipient_id"],
            name=row["name"],
            kind=row["kind"],
            population=int(row["population"]),
            district_id=row["district_id"] or None,
        )
        for row in rows
    ]
    return sorted(authorities, key=lambda a: a.recipient_id)


def distribution_key(authorities: list[Authority]) -> dict[str, Money]:
    """Award per recipient_id: the published five, then base + per-inhabitant share.

    Raises ValueError if a published name is missing or ambiguous in the data.
    """
    awards: dict[str, Money] = {}
    for name, amount in PUBLISHED_AWARDS.items():
        matches = [
            a for a in authorities
            if a.kind != "landkreis" and a.name.split(",")[0].strip() == name
        ]
        if len(matches) != 1:
            raise ValueError(f"published award {name}: {len(matches)} matches in the data")
        awards[matches[0].recipient_id] = amount
    rest = [a for a in authorities if a.recipient_id not in awards]
    fixed = sum((m.cents for m in awards.values()), 0)
    remainder = ENVELOPE.cents - fixed - BASE_AMOUNT.cents * len(rest)
    population = sum(a.population for a in rest)
    shares = {a.recipient_id: divmod(remainder * a.population, population) for a in rest}
    left_over = remainder - sum(q for q, _ in shares.values())
    by_remainder = sorted(rest, key=lambda a: (-shares[a.recipient_id][1], a.recipient_id))
    bonus = {a.recipient_id for a in by_remainder[:left_over]}
    for a in rest:
        cents = BASE_AMOUNT.cents + shares[a.recipient_id][0] + (a.recipient_id in bonus)
        awards[a.recipient_id] = _cents(cents)
    assert sum(m.cents for m in awards.values()) == ENVELOPE.cents
    return awards


def load_2020_scenario(
    ledger: Ledger, *, data_file: Path | Traversable | None = None
) -> dict[str, Any]:
    """Load the scenario; returns its figures (money as "0.00" strings).

    Raises AlreadyExists, before writing anything, if the programme, the phase or any
    of the authorities is already in the store.
    """
    authorities = read_authorities(data_file)
    awards = distribution_key(authorities)
    _refuse_if_loaded(ledger, authorities)
    start = ledger.head()[0]

    _set_up_programme(ledger)
    ledger.execute(ADMIN, RegisterRecipients(recipients=[
        NewRecipient(a.recipient_id, a.name, a.kind, a.population, a.district_id)
        for a in authorities
    ]))
    application_ids = _submit_all(ledger, authorities, awards)
    # The decisions and the money: ~1,330 commands decided by their own handlers against
    # the grants and the phase held in memory, then saved in one transaction (the
    # recorder's bulk path) instead of one each (scripts/decide_in_memory.py).
    memory = InMemory(ledger)
    paid = repaid = 0
    partial = 0
    for i, a in enumerate(authorities):
        award = awards[a.recipient_id]
        application_id = application_ids[a.recipient_id]
        _approve(memory, i, application_id, award)
        drawn = award
        if i % PARTIAL_EVERY == PARTIAL_EVERY // 2 and a.name.split(",")[0] not in PUBLISHED_AWARDS:
            drawn = _cents(award.cents * int(PARTIAL_SHARE * 100) // 100)
            partial += 1
        _draw(memory, i, application_id, drawn)
        paid += drawn.cents
        if i in REPAYMENTS:
            repaid += _repay(memory, i, application_id, drawn, _cents(REPAYMENTS[i]))
    memory.save()

    position = ledger.head()[0]
    return {
        "programme_id": PROGRAMME_ID,
        "phase_id": PHASE_ID,
        "recipients": len(authorities),
        "applications": len(application_ids),
        "approved": len(application_ids),
        "partially_drawn": partial,
        "awarded_total": str(_cents(sum(m.cents for m in awards.values()))),
        "paid_total": str(_cents(paid)),
        "repaid_total": str(_cents(repaid)),
        "net_paid_total": str(_cents(paid - repaid)),
        "events_written": position - start,
        "last_position": position,
        "application_ids": application_ids,
    }


def _refuse_if_loaded(ledger: Ledger, authorities: list[Authority]) -> None:
    existing: list[str] = []
    for what, load in (
        (f"programme {PROGRAMME_ID}", lambda: ledger.programme(PROGRAMME_ID)),
        (f"phase {PHASE_ID}", lambda: ledger.phase(PHASE_ID)),
    ):
        try:
            load()
        except NotFound:
            continue
        existing.append(what)
    for a in authorities:
        try:
            ledger.recipient(a.recipient_id)
        except NotFound:
            continue
        existing.append(f"recipient {a.recipient_id}")
        break
    if existing:
        raise AlreadyExists(
            f"the 2020 scenario cannot be loaded twice: {', '.join(existing)} already "
            "exist(s); load it into a fresh store"
        )


def _set_up_programme(ledger: Ledger) -> None:
    ledger.execute(ADMIN, CreateProgramme(
        programme_id=PROGRAMME_ID, name=PROGRAMME_NAME, funder=FUNDER))
    for year in BUDGET_YEARS:
        ledger.execute(BUDGET_OFFICER, AppropriateBudget(
            programme_id=PROGRAMME_ID, fiscal_year=year,
            amount=YEARLY_BUDGET, effective_date=date(year, 1, 1),
        ))
    ledger.execute(ADMIN, OpenPhase(
        programme_id=PROGRAMME_ID, phase_id=PHASE_ID, name="Phase 1 (2020)",
        fiscal_year=2020, envelope=ENVELOPE, opens_on=date(2020, 1, 1),
        closes_on=date(2020, 12, 31), eligible_kinds=KINDS,
    ))


_CATEGORIES = ("it_infrastructure", "workplace_equipment", "remote_work",
               "collaboration_tools", "e_records", "online_services")


def _submit_all(ledger: Ledger, authorities: list[Authority],
                awards: dict[str, Money]) -> dict[str, str]:
    """One application per authority, in one `SubmitApplications` (all or nothing)."""
    # Applications in spring, decisions over the summer; spread by index, not at random,
    # so every run writes the same dates.
    ids = ledger.execute(CLERK, SubmitApplications(applications=[
        NewApplication(
            phase_id=PHASE_ID, recipient_id=a.recipient_id, requested_amount=awards[a.recipient_id],
            submitted_on=date(2020, 3, 2) + timedelta(days=i * 7 % 85),
            reference=f"SHH-D-2020-{i + 1:03d}",
            measures=[{"category": _CATEGORIES[i % len(_CATEGORIES)],
                       "description": "Digitalisierung der Verwaltung 2020",
                       "amount": awards[a.recipient_id]}])
        for i, a in enumerate(authorities)
    ])).ids["application_ids"].split(",")
    return {a.recipient_id: application_id
            for a, application_id in zip(authorities, ids, strict=True)}


def _approve(memory: InMemory, i: int, application_id: str, award: Money) -> None:
    memory.decide(APPROVER, ApproveApplication(
        application_id=application_id, approved_amount=award,
        decided_on=date(2020, 6, 15) + timedelta(days=i * 11 % 70),
        decision_reference=f"SHH-D-2020/{i + 1:03d}",
    ))


def _draw(memory: InMemory, i: int, application_id: str, amount: Money) -> None:
    # Drawdowns requested September to November, paid 5–14 days later (some in December).
    requested_on = date(2020, 9, 1) + timedelta(days=i * 13 % 80)
    drawdown_id = memory.decide(CLERK, RequestDrawdown(
        application_id=application_id, amount=amount, requested_on=requested_on,
    ))["drawdown_id"]
    memory.decide(PAYMASTER, PayDrawdown(
        application_id=application_id, drawdown_id=drawdown_id,
        paid_on=requested_on + timedelta(days=5 + i % 10),
    ))


def _repay(memory: InMemory, i: int, application_id: str, paid: Money, amount: Money) -> int:
    memory.decide(CLERK, SubmitProofOfUse(
        application_id=application_id, spent_amount=paid - amount,
        submitted_on=date(2020, 12, 1) + timedelta(days=i % 5),
    ))
    memory.decide(PAYMASTER, RecordRepayment(
        application_id=application_id, amount=amount,
        received_on=date(2020, 12, 14) + timedelta(days=i % 5),
        reason="Minderausgaben laut Verwendungsnachweis",
    ))
    return amount.cents


def _cents(cents: int) -> Money:
    return Money(Decimal(cents).scaleb(-2))


__all__ = ["distribution_key", "load_2020_scenario", "read_authorities"]
