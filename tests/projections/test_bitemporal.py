"""Bitemporal: fiscal years follow effective dates, `as_of` follows recorded time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger import Settings, build_ledger
from ledger.errors import FiscalYearClosed
from projections import build_read_models
from tests.support.scenario import (
    CLERK,
    FINANCE,
    FINANCE_2,
    approved,
    funded_phase,
    money,
    recipients,
)


def test_a_january_recording_of_a_december_payment_moves_december(sql_database_url: str) -> None:
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger)
    f = funded_phase(ledger, budget="1000.00", envelope="1000.00")
    ledger.appropriate_budget(FINANCE, programme_id=f.programme_id, fiscal_year=2021,
                              amount=money("500.00"), effective_date=date(2021, 1, 1))
    (rid,) = recipients(ledger, 1)
    app_id = approved(ledger, f, rid, "300.00")
    first = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("100.00"),
                                    requested_on=date(2020, 12, 1)).ids["drawdown_id"]
    second = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("50.00"),
                                     requested_on=date(2020, 12, 2)).ids["drawdown_id"]
    ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id=first,
                        paid_on=date(2021, 1, 10))
    before_late_booking = ledger.head()[0]

    # Recorded now (after the January payment), dated 20 December 2020.
    ledger.pay_drawdown(FINANCE_2, application_id=app_id, drawdown_id=second,
                        paid_on=date(2020, 12, 20))
    read_models.catch_up()

    y2020 = read_models.reconciliation(f.programme_id, 2020)
    y2021 = read_models.reconciliation(f.programme_id, 2021)
    assert Decimal(y2020["paid_in_year"]) == Decimal("50.00")
    assert Decimal(y2021["paid_in_year"]) == Decimal("100.00")
    assert Decimal(y2020["paid_against_year"]) == Decimal("150.00")
    assert y2020["balanced"] and y2021["balanced"]
    as_of = read_models.reconciliation(f.programme_id, 2020, at=before_late_booking)
    assert Decimal(as_of["paid_in_year"]) == Decimal("0.00")
    assert Decimal(as_of["paid_against_year"]) == Decimal("100.00")

    ledger.close_fiscal_year(FINANCE, programme_id=f.programme_id, fiscal_year=2020,
                             closed_on=date(2021, 1, 31))
    third = ledger.request_drawdown(CLERK, application_id=app_id, amount=money("10.00"),
                                    requested_on=date(2021, 2, 1)).ids["drawdown_id"]
    with pytest.raises(FiscalYearClosed):
        ledger.pay_drawdown(FINANCE, application_id=app_id, drawdown_id=third,
                            paid_on=date(2020, 12, 30))
    read_models.catch_up()
    assert read_models.reconciliation(f.programme_id, 2020)["paid_in_year"] == "50.00"
    read_models.close()
    ledger.close()
