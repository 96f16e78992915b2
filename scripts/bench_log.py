"""The bench's large log: a national-shaped programme written through the domain aggregates."""

from __future__ import annotations

import math
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import Recording

from ledger import Actor, Ledger, Money, NewRecipient
from ledger.commands import (
    AppropriateBudget,
    CreateProgramme,
    OpenPhase,
    RegisterRecipients,
)
from ledger.domain.grant import Grant
from ledger.domain.phase import Phase
from scripts.bench_report import Figure, Report

ADMIN = Actor(user="bench-admin", role="admin", correlation_id="bench")
FINANCE = Actor(user="bench-finance", role="finance", correlation_id="bench")
CLERK = Actor(user="bench-clerk", role="clerk", correlation_id="bench")
APPROVER = Actor(user="bench-approver", role="approver", correlation_id="bench")
PAYMASTER = Actor(user="bench-paymaster", role="finance", correlation_id="bench")
KINDS = ["gemeinde", "stadt", "kreisfreie_stadt", "landkreis"]
EVENTS_PER_APPLICATION = 8  # submitted, received, approved, committed, 2 × (requested, paid)
YEARS = 10
# Ten past fiscal years: every business date lies in the window the API enforces
# (I13: not later than today + 2 years), so the bench log is data the ledger accepts.
START_YEAR = 2016


def money(text: str) -> Money:
    return Money(Decimal(text))


# -- (c) the large log -----------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    recipients: int
    applications: int
    per_phase: int
    max_open: int


def shape_for(events: int) -> Shape:
    """~11,000 recipients at a million events (ten years, ~90 events each), fewer below."""
    recipients = min(11_000, max(100, events // 90))
    applications = max(YEARS, (events - recipients) // EVENTS_PER_APPLICATION)
    per_phase = math.ceil(applications / YEARS)
    return Shape(recipients, applications, per_phase, math.ceil(per_phase / recipients))


class NationalLog:
    """The large log of `shape_for(events)`, written in steps so it can be measured between.

    `setup()` writes the programme, its ten budgets and phases and every recipient; each
    `grow(fraction)` then writes the applications up to that fraction of every phase, in
    batches of `batch` applications per transaction.
    """

    programme_id = "bench-national"

    def __init__(self, ledger: Ledger, report: Report, *, events: int, batch: int) -> None:
        self.ledger, self.report, self.batch = ledger, report, batch
        self.shape = shape_for(events)
        self.award = money("20000.00")
        self.recipient_ids = [f"de-{n:06d}" for n in range(self.shape.recipients)]
        self.done_per_phase = 0
        self.before = ledger.head()[0]
        self.transactions = 0
        self.written = 0  # application events
        self.seconds = 0.0  # spent writing applications
        self.setup_seconds = 0.0
        self.setup_position = 0  # the head once every phase exists
        self.sample: list[str] = []  # ~10,000 application ids, spread over the log
        # ~10,000 ids over the whole log, so even its first tenth offers the HTTP stage
        # ~1,000: both log sizes then ask as many different applications (scripts/bench.py)
        self._every = max(1, self.shape.applications // 10000)
        self._phases: dict[int, Phase] = {}

    def setup(self) -> None:
        start = time.perf_counter()
        ledger, shape = self.ledger, self.shape
        envelope = Money(self.award.amount * shape.per_phase)
        ledger.execute(ADMIN, CreateProgramme(
            programme_id=self.programme_id, name="Bench national", funder="Bench"))
        for year in range(START_YEAR, START_YEAR + YEARS):
            ledger.execute(FINANCE, AppropriateBudget(
                programme_id=self.programme_id, fiscal_year=year, amount=envelope,
                effective_date=date(year, 1, 1)))
            ledger.execute(ADMIN, OpenPhase(
                programme_id=self.programme_id, phase_id=f"nat-{year}",
                name=f"National {year}", fiscal_year=year, envelope=envelope,
                opens_on=date(year, 1, 1), closes_on=date(year, 12, 31),
                eligible_kinds=KINDS, max_open_per_recipient=shape.max_open))
        self.transactions += 1 + 2 * YEARS
        for offset in range(0, len(self.recipient_ids), 1000):
            ledger.execute(ADMIN, RegisterRecipients(recipients=[
                NewRecipient(rid, f"Gemeinde {rid}", KINDS[n % 3], 1000 + n)  # kind: _build
                for n, rid in enumerate(self.recipient_ids[offset:offset + 1000],
                                        start=offset)]))
            self.transactions += 1
        self.setup_seconds = time.perf_counter() - start
        self.setup_position = ledger.head()[0]
        self.report.add(Figure("generate: recipients (bulk command, 1000/txn)",
                               shape.recipients, self.setup_seconds, "recips"))

    def grow(self, fraction: float) -> int:
        """Writes every phase's applications up to `fraction` of it; returns events written.

        A writer thread saves each batch while this one builds the next, as a bulk loader
        does: the save mostly waits on PostgreSQL (COPY, the commit's fsync), so building
        and writing overlap; at most one batch waits, and a failed save stops the run."""
        upto = min(self.shape.per_phase, math.ceil(self.shape.per_phase * fraction))
        start, written = time.perf_counter(), 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-log") as writer:
            saving: Future[list[Recording[uuid.UUID]]] | None = None
            for year in range(START_YEAR, START_YEAR + YEARS):
                # The phase as this log left it (a writer beside it makes the save fail).
                if year not in self._phases:
                    self._phases[year] = self.ledger.phase(f"nat-{year}")
                phase = self._phases[year]
                for offset in range(self.done_per_phase, upto, self.batch):
                    created = self._build(phase, year, range(offset, min(offset + self.batch,
                                                                          upto)))
                    # One save of the batch, as `submit_applications` saves its own: each
                    # aggregate's events together, in one transaction (the recorder's bulk
                    # path, ledger/persistence/pg_bulk.py). Put in the event store, as
                    # `Ledger.save` does once it has collected them: its collecting checks
                    # each object against runtime Protocols, ~13 us an object on Python
                    # 3.11 (a quarter of the time), and would snapshot the phase every 500
                    # versions, rebuilding it from the log (another 14%); one snapshot per
                    # phase follows instead.
                    events = [e for a in created for e in a.collect_events()]
                    events += phase.collect_events()
                    written += len(saving.result()) if saving else 0
                    saving = writer.submit(self.ledger.events.put, events)
                    self.transactions += 1
                if saving is not None:  # a phase this call grew (not one at its last size,
                    # whose snapshot is stored already: --events 0 grows none)
                    written += len(saving.result())
                    saving = None
                    self._snapshot(phase)
        self.done_per_phase = upto
        self.written += written
        self.seconds += time.perf_counter() - start
        return written

    def _build(self, phase: Phase, year: int, numbers: range) -> list[Grant]:
        created = []
        for n in numbers:
            r = n % self.shape.recipients  # registered with KINDS[r % 3] (setup)
            created.append(lifecycle(phase, programme_id=self.programme_id, year=year, n=n,
                                     recipient_id=self.recipient_ids[r],
                                     award=self.award, kind=KINDS[r % 3]))
            if n % self._every == 0:
                self.sample.append(str(created[-1].id))
        return created

    def _snapshot(self, phase: Phase) -> None:
        """A snapshot of the phase as it stands, taken from the object itself: all its
        events are saved (`take_snapshot` would first rebuild it from the log)."""
        snapshots = self.ledger.snapshots
        snapshot_class = getattr(type(phase), "Snapshot", type(self.ledger).snapshot_class)
        if snapshots is not None and snapshot_class is not None:
            snapshots.put([snapshot_class.take(phase)])

    def finish(self) -> tuple[int, int]:
        """Adds the figures of the whole generation; returns (events written, transactions)."""
        # Not head − before: other writers (the command figures) may run between the steps.
        total = self.setup_position - self.before + self.written
        self.report.add(Figure("generate: applications (domain, batched)", self.written,
                               self.seconds, "events", baseline="raw batched INSERT",
                               note=f"{self.shape.applications} applications, {self.batch} "
                                    "per transaction"))
        self.report.add(Figure("generate: whole log", total, self.setup_seconds + self.seconds,
                               "events",
                               note=f"{self.shape.recipients} recipients, "
                                    f"{self.shape.applications} applications, {YEARS} phases, "
                                    f"{self.transactions} transactions"))
        return total, self.transactions


def generate_log(ledger: Ledger, report: Report, *, events: int, batch: int) -> tuple[int, int]:
    """Writes about `events` more events in one go; returns (events written, transactions)."""
    log = NationalLog(ledger, report, events=events, batch=batch)
    log.setup()
    log.grow(1.0)
    return log.finish()


def lifecycle(phase: Any, *, programme_id: str, year: int, n: int, recipient_id: str,
              award: Money, kind: str = "gemeinde") -> Grant:
    """An application submitted, approved, with 2 × (request, pay) drawdowns, its events
    (and the phase's: received, committed) pending, checked as the commands check them."""
    submitted = date(year, 3, 1) + timedelta(days=n % 90)
    decided = submitted + timedelta(days=60)
    paid_on = decided + timedelta(days=30)
    application_id = str(uuid.uuid4())
    app = Grant.start(
        Grant.Submitted, CLERK, id=uuid.UUID(application_id), effective_date=submitted,
        application_id=application_id, programme_id=programme_id, phase_id=phase.phase_id,
        fiscal_year=year, recipient_id=recipient_id, recipient_kind=kind,
        requested_amount=award, measures=[], reference=None)
    phase.check_accepts(recipient_id=recipient_id, kind=kind, submitted_on=submitted)
    phase.receive(CLERK, application_id=application_id, recipient_id=recipient_id,
                  submitted_on=submitted)
    app.approve(APPROVER, approved_amount=award, decided_on=decided, decision_reference=None)
    phase.commit(APPROVER, application_id=application_id, change=award, decided_on=decided)
    first = Money(award.amount * Decimal("0.6"))
    for drawdown_id, amount in (("D1", first), ("D2", award - first)):
        app.request_drawdown(CLERK, drawdown_id=drawdown_id, amount=amount,
                             requested_on=paid_on)
        app.pay_drawdown(PAYMASTER, drawdown_id=drawdown_id, paid_on=paid_on)
    return app
