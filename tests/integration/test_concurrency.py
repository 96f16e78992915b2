"""Invariants under concurrent writers, raced with real threads against PostgreSQL
(and SQLite, whose single writer lock must give the same answers)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date

import pytest

from ledger import Ledger, Settings, build_ledger
from ledger.errors import BudgetExceeded, DuplicateApplication, LedgerError, OverDrawdown
from ledger.money import Money
from tests.support.scenario import (
    APPROVER,
    CLERK,
    FINANCE,
    actor,
    approved,
    funded_phase,
    money,
    recipients,
)


@pytest.fixture
def pg_ledgers(sql_database_url: str) -> Iterator[list[Ledger]]:
    """Several Ledger instances on one database: as separate service workers would be."""
    ledgers = [build_ledger(Settings(database_url=sql_database_url)) for _ in range(4)]
    yield ledgers
    for one in ledgers:
        one.close()


def race(n: int, work: Callable[[int], object]) -> tuple[list[object], list[LedgerError]]:
    barrier = threading.Barrier(n)
    results: list[object] = []
    errors: list[LedgerError] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            value = work(i)
        except LedgerError as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def account(ledger: Ledger, name: str) -> Money:
    balance = Money.zero()
    for n in ledger.recorder.select_notifications(start=1, limit=100000):
        for p in getattr(ledger.mapper.to_domain_event(n), "postings", []):
            if p.source == name:
                balance = balance - p.amount
            if p.target == name:
                balance = balance + p.amount
    return balance


def test_twenty_concurrent_approvals_fill_the_envelope_exactly(pg_ledgers: list[Ledger]) -> None:
    main = pg_ledgers[0]
    f = funded_phase(main, budget="1000.00", envelope="1000.00")
    rids = recipients(main, 20)
    app_ids = [
        main.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                requested_amount=money("150.00"),
                                submitted_on=date(2020, 2, 1)).ids["application_id"]
        for rid in rids
    ]

    results, errors = race(20, lambda i: pg_ledgers[i % 4].approve_application(
        APPROVER, application_id=app_ids[i], approved_amount=money("150.00"),
        decided_on=date(2020, 3, 1)))

    assert len(results) == 6
    assert len(errors) == 14 and all(isinstance(e, BudgetExceeded) for e in errors)
    fresh = build_ledger(Settings(database_url=_url(main)))
    assert fresh.phase(f.phase_id).committed == money("900.00")
    assert account(fresh, f"phase:{f.phase_id}") == money("100.00")
    assert sum(fresh.application(a).status == "approved" for a in app_ids) == 6
    assert fresh.verify_chain().verified
    fresh.close()


def test_concurrent_drawdowns_never_exceed_the_award(pg_ledgers: list[Ledger]) -> None:
    main = pg_ledgers[0]
    f = funded_phase(main)
    (rid,) = recipients(main, 1)
    app_id = approved(main, f, rid, "1000.00")

    results, errors = race(20, lambda i: pg_ledgers[i % 4].request_drawdown(
        CLERK, application_id=app_id, amount=money("150.00"), requested_on=date(2020, 4, 1)))

    assert len(results) == 6
    assert len(errors) == 14 and all(isinstance(e, OverDrawdown) for e in errors)
    app = build_ledger(Settings(database_url=_url(main))).application(app_id)
    assert app.pending == money("900.00")
    drawdowns = list(app.drawdowns)
    paid, _ = race(6, lambda i: pg_ledgers[i % 4].pay_drawdown(
        FINANCE, application_id=app_id, drawdown_id=drawdowns[i], paid_on=date(2020, 4, 2)))
    assert len(paid) == 6
    assert account(main, f"paid:{app_id}") == money("900.00")
    assert account(main, f"outstanding:{app_id}") == money("100.00")


def test_concurrent_submissions_leave_one_open_application(pg_ledgers: list[Ledger]) -> None:
    main = pg_ledgers[0]
    f = funded_phase(main)
    (rid,) = recipients(main, 1)

    results, errors = race(10, lambda i: pg_ledgers[i % 4].submit_application(
        actor(f"clerk{i}", "clerk"), phase_id=f.phase_id, recipient_id=rid,
        requested_amount=money("10.00"), submitted_on=date(2020, 2, 1)))

    assert len(results) == 1
    assert all(isinstance(e, DuplicateApplication) for e in errors) and len(errors) == 9


def test_concurrent_phase_funding_stays_within_the_budget(pg_ledgers: list[Ledger]) -> None:
    main = pg_ledgers[0]
    f = funded_phase(main, budget="1000.00", envelope="100.00")

    results, errors = race(12, lambda i: pg_ledgers[i % 4].open_phase(
        actor("ada", "admin"), programme_id=f.programme_id, phase_id=f"{f.phase_id}-{i}",
        name=f"P{i}", fiscal_year=2020, envelope=money("100.00"), opens_on=date(2020, 1, 1),
        closes_on=date(2020, 12, 31), eligible_kinds=["gemeinde"]))

    assert len(results) == 9
    assert all(isinstance(e, BudgetExceeded) for e in errors) and len(errors) == 3
    assert account(main, "unallocated:2020") == Money.zero()


def test_one_idempotency_key_from_ten_clients_writes_once(pg_ledgers: list[Ledger]) -> None:
    main = pg_ledgers[0]
    f = funded_phase(main)
    (rid,) = recipients(main, 1)
    app_id = approved(main, f, rid, "1000.00")
    keyed = actor("clara", "clerk", key=f"key-{app_id}")

    results, errors = race(10, lambda i: pg_ledgers[i % 4].request_drawdown(
        keyed, application_id=app_id, amount=money("10.00"), requested_on=date(2020, 4, 1)))

    assert not errors and len(results) == 10
    assert len({r.ids["drawdown_id"] for r in results}) == 1  # type: ignore[attr-defined]
    assert len(build_ledger(Settings(database_url=_url(main))).application(app_id).drawdowns) == 1


def _url(ledger: Ledger) -> str:
    env = ledger.env
    if "SQLITE_DBNAME" in env:
        return f"sqlite:///{env['SQLITE_DBNAME']}"
    return (f"postgresql://{env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/"
            f"{env['POSTGRES_DBNAME']}?schema={env['POSTGRES_SCHEMA']}")
