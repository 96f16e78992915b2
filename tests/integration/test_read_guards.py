"""Read guards: a decision fails and is re-run when an aggregate it only read has changed.

This is what keeps I10 under concurrency: a payment checked against the programme's
open fiscal years cannot be saved after finance closed that year meanwhile.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from eventsourcing.persistence import IntegrityError

from ledger import Ledger, Settings, build_ledger
from ledger.errors import FiscalYearClosed
from tests.support.scenario import (
    CLERK,
    FINANCE,
    FINANCE_2,
    approved,
    funded_phase,
    money,
    recipients,
)


def test_a_save_fails_when_a_read_aggregate_changed(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "100.00")
    programme = ledger.programme(f.programme_id)
    application = ledger.application(app_id)
    application.request_drawdown(CLERK, drawdown_id="D1", amount=money("10.00"),
                                 requested_on=date(2020, 5, 1))
    ledger.close_fiscal_year(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                             closed_on=date(2021, 1, 5))
    before = ledger.head()

    with pytest.raises(IntegrityError):
        ledger.save(application, read_guards=[(programme.id, programme.version)])

    assert ledger.head() == before
    assert ledger.verify_chain().verified


def test_a_current_read_guard_lets_the_save_through(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "100.00")
    programme = ledger.programme(f.programme_id)
    application = ledger.application(app_id)
    application.request_drawdown(CLERK, drawdown_id="D1", amount=money("10.00"),
                                 requested_on=date(2020, 5, 1))

    ledger.save(application, read_guards=[(programme.id, programme.version)])

    assert len(ledger.application(app_id).drawdowns) == 1


def test_no_payment_lands_in_a_year_closed_concurrently(sql_database_url: str) -> None:
    ledgers = [build_ledger(Settings(database_url=sql_database_url)) for _ in range(3)]
    main = ledgers[0]
    f = funded_phase(main, budget="100000.00", envelope="100000.00")
    (rid,) = recipients(main, 1)
    app_id = approved(main, f, rid, "10000.00")
    drawdowns = [main.request_drawdown(CLERK, application_id=app_id, amount=money("10.00"),
                                       requested_on=date(2020, 6, 1)).ids["drawdown_id"]
                 for _ in range(30)]
    barrier = threading.Barrier(4)
    refused: list[Exception] = []

    def pay(offset: int) -> None:
        barrier.wait()
        for drawdown_id in drawdowns[offset::3]:
            try:
                ledgers[offset].pay_drawdown(FINANCE_2, application_id=app_id,
                                             drawdown_id=drawdown_id, paid_on=date(2020, 12, 31))
            except FiscalYearClosed as exc:
                refused.append(exc)

    def close() -> None:
        barrier.wait()
        main.close_fiscal_year(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                               closed_on=date(2021, 1, 5))

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(3)]
    threads.append(threading.Thread(target=close))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    events = [(n.id, main.mapper.to_domain_event(n))
              for n in main.recorder.select_notifications(start=1, limit=10_000)]
    closed_at = next(pos for pos, e in events if type(e).__name__ == "FiscalYearClosed")
    paid_positions = [pos for pos, e in events if type(e).__name__ == "DrawdownPaid"]
    assert all(pos < closed_at for pos in paid_positions)
    assert len(paid_positions) + len(refused) == 30
    for one in ledgers:
        one.close()
