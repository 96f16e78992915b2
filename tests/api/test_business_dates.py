"""Business dates (I13, I14): in a window, strictly ISO, and in order."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from ledger import Settings, build_ledger
from ledger.errors import ValidationFailed
from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head, ok, submitted
from tests.support import scenario

TOO_LATE = (date.today() + timedelta(days=2 * 366 + 1)).isoformat()


@pytest.mark.parametrize("day", ["0001-01-01", "1989-12-31", TOO_LATE, "9999-12-31"])
def test_refuses_business_dates_outside_the_window(client: TestClient, day: str) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    path = f"/applications/{application_id}"
    drawn = ok(client.post(f"{path}/drawdowns", headers=auth("clara"),
                           json={"amount": "10.00", "requested_on": "2020-05-01"}), 201)
    before = head(client)

    responses = [
        client.post(f"{path}/drawdowns/{drawn['drawdown_id']}/pay", headers=auth("fritz"),
                    json={"paid_on": day}),
        client.post(f"{path}/drawdowns", headers=auth("clara"),
                    json={"amount": "10.00", "requested_on": day}),
        client.post(f"/programmes/{setup.programme_id}/budgets/2020/expenditures",
                    headers=auth("fritz"), json={"amount": "1.00", "paid_on": day,
                                                  "payee": "ekom21", "purpose": "licence"}),
    ]

    assert [r.status_code for r in responses] == [422, 422, 422], [r.text for r in responses]
    assert {r.json()["code"] for r in responses} == {"validation"}
    assert head(client) == before


@pytest.mark.parametrize("day", ["2020-01-01T00:00:00", "2020-01-01T00:00:00Z", "2020-1-1",
                                 "20200101", "2020-01-01 "])
def test_refuses_dates_that_are_not_strict_iso_dates(memory_client: TestClient, day: str) -> None:
    response = memory_client.post("/applications", headers=auth("clara"), json={
        "phase_id": "p", "recipient_id": "r", "requested_amount": "1.00", "submitted_on": day})

    assert response.status_code == 422
    assert response.json()["code"] == "validation"


def test_a_budget_may_name_a_future_fiscal_year(client: TestClient) -> None:
    setup = funded(client)
    year = date.today().year + 5

    response = client.post(f"/programmes/{setup.programme_id}/budgets", headers=auth("fritz"),
                           json={"fiscal_year": year, "amount": "100.00",
                                 "effective_date": date.today().isoformat()})

    assert response.status_code == 201, response.text


def test_refuses_dates_out_of_order_with_date_order(client: TestClient) -> None:
    setup = funded(client, recipients=4)
    submitted_id = submitted(client, setup, 0)  # submitted 2020-03-01
    granted_id = approved(client, setup, 1)  # decided 2020-04-01
    path = f"/applications/{granted_id}"
    drawn = ok(client.post(f"{path}/drawdowns", headers=auth("clara"),
                           json={"amount": "100.00", "requested_on": "2020-05-01"}), 201)
    pay = f"{path}/drawdowns/{drawn['drawdown_id']}/pay"
    ok(client.post(pay, headers=auth("fritz"), json={"paid_on": "2020-05-10"}))
    before = head(client)

    refused = {
        "approval before submission": client.post(
            f"/applications/{submitted_id}/approve", headers=auth("anna"),
            json={"approved_amount": "50000.00", "decided_on": "2020-02-28"}),
        "rejection before submission": client.post(
            f"/applications/{submitted_id}/reject", headers=auth("anna"),
            json={"reason": "late", "decided_on": "2020-02-28"}),
        "request before decision": client.post(
            f"{path}/drawdowns", headers=auth("clara"),
            json={"amount": "1.00", "requested_on": "2020-03-31"}),
        "repayment before first payment": client.post(
            f"{path}/repayments", headers=auth("fritz"),
            json={"amount": "1.00", "received_on": "2020-05-09", "reason": "unused"}),
        "closure before decision": client.post(
            f"{path}/close", headers=auth("anna"), json={"closed_on": "2020-03-31"}),
        "revocation before decision": client.post(
            f"{path}/revoke", headers=auth("anna"),
            json={"reason": "fraud", "decided_on": "2020-03-31"}),
        "award amendment before decision": client.post(
            f"{path}/award-amendments", headers=auth("arne"),
            json={"new_amount": "60000.00", "reason": "more", "decided_on": "2020-03-31"}),
    }
    second = ok(client.post(f"{path}/drawdowns", headers=auth("clara"),
                            json={"amount": "5.00", "requested_on": "2020-06-01"}), 201)
    after_request = head(client)
    early_payment = client.post(f"{path}/drawdowns/{second['drawdown_id']}/pay",
                                headers=auth("fritz"), json={"paid_on": "2020-05-31"})

    for what, response in refused.items():
        assert response.status_code == 409, (what, response.text)
        assert response.json()["code"] == "date_order", (what, response.text)
    assert after_request == before + 1
    assert (early_payment.status_code, early_payment.json()["code"]) == (409, "date_order")
    assert head(client) == after_request


def test_the_window_is_a_setting() -> None:
    ledger = build_ledger(Settings(database_url="memory://",
                                   earliest_business_date=date(2021, 1, 1)))
    f = scenario.funded_phase(ledger, year=2021)

    with pytest.raises(ValidationFailed, match="2020-12-31"):
        ledger.record_direct_expenditure(scenario.FINANCE, programme_id=f.programme_id,
                                  fiscal_year=2021, amount=scenario.money("1.00"),
                                  paid_on=date(2020, 12, 31), payee="x", purpose="y")
