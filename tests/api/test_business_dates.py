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
    phase = client.post(f"/programmes/{setup.programme_id}/phases", headers=auth("ada"), json={
        "phase_id": f"{setup.phase_id}-{year}", "name": "later", "fiscal_year": year,
        "envelope": "60.00", "opens_on": f"{year}-01-01", "closes_on": f"{year}-12-31",
        "eligible_kinds": ["gemeinde"]})
    assert phase.status_code == 201, phase.text
    programme = ok(client.get(f"/programmes/{setup.programme_id}", headers=auth("ida"),
                              params={"min_position": phase.json()["position"]}))
    later = next(b for b in programme["budgets"] if b["fiscal_year"] == year)
    assert (later["funded_to_phases"], later["unallocated"]) == ("60.00", "40.00")
    reconciliation = ok(client.get(
        f"/programmes/{setup.programme_id}/reconciliation/{year}", headers=auth("ida"),
        params={"min_position": phase.json()["position"], "effective_on": f"{year}-01-01"}))
    assert (reconciliation["funded_to_phases"], reconciliation["balanced"]) == ("60.00", True)
    too_early = client.post(f"/programmes/{setup.programme_id}/phases", headers=auth("ada"),
                            json={"phase_id": "ancient", "name": "x", "fiscal_year": year,
                                  "envelope": "1.00", "opens_on": "1980-01-01",
                                  "closes_on": f"{year}-12-31",
                                  "eligible_kinds": ["gemeinde"]})
    assert too_early.status_code == 422, too_early.text
    assert too_early.json()["detail"].startswith("opens_on: 1980-01-01 is outside")
    too_late = client.post(f"/programmes/{setup.programme_id}/phases", headers=auth("ada"),
                           json={"phase_id": "never", "name": "x", "fiscal_year": year,
                                 "envelope": "1.00", "opens_on": f"{year + 3}-01-01",
                                 "closes_on": f"{year + 3}-12-31",
                                 "eligible_kinds": ["gemeinde"]})
    assert too_late.status_code == 422, too_late.text  # a plan, but of this fiscal year
    assert f"… {year + 2}-12-31" in too_late.json()["detail"]


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


def test_every_step_of_an_application_follows_the_steps_it_depends_on(
        client: TestClient) -> None:
    """I14 beyond its list: an amendment, a withdrawal, a proof of use, a cancellation and
    a revocation are never dated before what they act on — otherwise a figure by
    business date counts the application in a state it was not yet in (a withdrawal
    before the submission made `requested` negative on the days between). An undated
    amendment (SPEC §6 gives it no date) corrects the application on its own date, so it
    does not hold back a decision dated before today; a dated one does."""
    setup = funded(client, recipients=4)
    fresh = submitted(client, setup, 0)  # submitted 2020-03-01
    amended = submitted(client, setup, 1)
    ok(client.post(f"/applications/{amended}/amend", headers=auth("clara"),
                   json={"requested_amount": "40000.00", "reason": "fewer laptops"}))
    dated = submitted(client, setup, 3)
    ok(client.post(f"/applications/{dated}/amend", headers=auth("clara"), json={
        "requested_amount": "30000.00", "reason": "x", "amended_on": "2020-03-10"}))
    granted = approved(client, setup, 2)  # decided 2020-04-01
    path = f"/applications/{granted}"
    drawn = ok(client.post(f"{path}/drawdowns", headers=auth("clara"),
                           json={"amount": "100.00", "requested_on": "2020-05-01"}), 201)
    before = head(client)

    refused = {
        "withdrawal before submission": client.post(
            f"/applications/{fresh}/withdraw", headers=auth("clara"),
            json={"reason": "x", "withdrawn_on": "2020-02-01"}),
        "amendment before submission": client.post(
            f"/applications/{fresh}/amend", headers=auth("clara"),
            json={"requested_amount": "1.00", "reason": "x", "amended_on": "2020-02-01"}),
        "amendment before the last amendment": client.post(
            f"/applications/{dated}/amend", headers=auth("clara"),
            json={"requested_amount": "1.00", "reason": "x", "amended_on": "2020-03-05"}),
        "approval before the last amendment": client.post(
            f"/applications/{dated}/approve", headers=auth("anna"),
            json={"approved_amount": "30000.00", "decided_on": "2020-03-05"}),
        "withdrawal before the last amendment": client.post(
            f"/applications/{dated}/withdraw", headers=auth("clara"),
            json={"reason": "x", "withdrawn_on": "2020-03-05"}),
        "proof of use before decision": client.post(
            f"{path}/proof-of-use", headers=auth("clara"),
            json={"spent_amount": "10.00", "submitted_on": "2020-03-31"}),
        "cancellation before request": client.post(
            f"{path}/drawdowns/{drawn['drawdown_id']}/cancel", headers=auth("clara"),
            json={"reason": "x", "cancelled_on": "2020-04-30"}),
        "revocation before a requested drawdown it cancels": client.post(
            f"{path}/revoke", headers=auth("anna"),
            json={"reason": "x", "decided_on": "2020-04-30"}),
    }

    for what, response in refused.items():
        assert (response.status_code, response.json().get("code")) == (409, "date_order"), (
            what, response.text)
    assert head(client) == before
    # the same steps on their days or later are recorded
    assert client.post(f"/applications/{amended}/approve", headers=auth("anna"), json={
        "approved_amount": "40000.00", "decided_on": "2020-03-02"}).status_code == 200
    assert client.post(f"/applications/{fresh}/withdraw", headers=auth("clara"), json={
        "reason": "x", "withdrawn_on": "2020-03-01"}).status_code == 200


def test_a_budget_is_not_spent_or_closed_before_its_money_is_there(
        client: TestClient) -> None:
    """SPEC §3: `unallocated:Y` never goes negative — by business date too. Money taken
    out of a year's budget on a day before it was appropriated (or carried in) made
    the accounts by that date negative, and so did a close that settled money dated
    after it. (A phase opening before its money is there: see the next test.)"""
    setup = funded(client)  # 2020: 20,000,000.00 appropriated on 2020-01-01
    budgets = f"/programmes/{setup.programme_id}/budgets"
    ok(client.post(budgets, headers=auth("fritz"), json={
        "fiscal_year": 2021, "amount": "1000.00", "effective_date": "2021-01-01"}), 201)
    ok(client.post(f"{budgets}/2020/expenditures", headers=auth("fritz"), json={
        "amount": "10.00", "paid_on": "2020-06-01", "payee": "ekom21", "purpose": "x"}), 201)
    before = head(client)

    early_spending = client.post(f"{budgets}/2021/expenditures", headers=auth("fritz"), json={
        "amount": "10.00", "paid_on": "2020-12-01", "payee": "ekom21", "purpose": "x"})
    early_close = client.post(f"{budgets}/2021/close", headers=auth("fritz"), json={
        "closed_on": "2020-12-31", "carry_over": "100.00"})  # 2021's money: from 2021-01-01

    assert (early_spending.status_code, early_spending.json()["code"]) == (
        409, "budget_exceeded"), early_spending.text
    assert "2020-12-01" in early_spending.json()["detail"]
    assert (early_close.status_code, early_close.json()["code"]) == (409, "date_order")
    assert head(client) == before

    # Carried-in money is there from the close's date: spending more than 2021's own
    # appropriation before that date is refused, on or after it recorded.
    ok(client.post(f"{budgets}/2020/close", headers=auth("fritz"), json={
        "closed_on": "2021-01-15", "carry_over": "5000.00"}))
    too_early = client.post(f"{budgets}/2021/expenditures", headers=auth("fritz"), json={
        "amount": "3000.00", "paid_on": "2021-01-10", "payee": "ekom21", "purpose": "x"})
    on_time = client.post(f"{budgets}/2021/expenditures", headers=auth("fritz"), json={
        "amount": "3000.00", "paid_on": "2021-01-15", "payee": "ekom21", "purpose": "x"})
    assert (too_early.status_code, on_time.status_code) == (409, 201), too_early.text
    for day in ("2020-12-31", "2021-01-10", "2021-01-15", "2021-12-31"):
        accounts = ok(client.get(f"/programmes/{setup.programme_id}/accounts",
                                 headers=auth("fritz"),
                                 params={"effective_on": day, "min_position": head(client),
                                         "limit": 1000}))
        negative = [a for a in accounts["accounts"] if a["account"].startswith(
            "unallocated:") and a["balance"].startswith("-")]
        assert negative == [], (day, negative)


def test_a_phase_opening_before_its_money_is_funded_when_the_money_is_there(
        client: TestClient) -> None:
    """A phase's opening day is a plan and may lie before its budget's effective date;
    its envelope leaves `unallocated:Y` on the day the money is there, so no account
    marked ≥0 goes negative by business date, and no award is dated before it."""
    setup = funded(client, recipients=1)
    pid = setup.programme_id
    ok(client.post(f"/programmes/{pid}/budgets", headers=auth("fritz"), json={
        "fiscal_year": 2024, "amount": "100.00", "effective_date": "2024-06-01"}), 201)
    phase = ok(client.post(f"/programmes/{pid}/phases", headers=auth("ada"), json={
        "phase_id": "early-2024", "name": "early", "fiscal_year": 2024, "envelope": "50.00",
        "opens_on": "2024-01-01", "closes_on": "2024-12-31",
        "eligible_kinds": ["gemeinde", "stadt"]}), 201)
    application = ok(client.post("/applications", headers=auth("clara"), json={
        "phase_id": "early-2024", "recipient_id": setup.recipients[0],
        "requested_amount": "10.00", "submitted_on": "2024-02-01"}), 201)["application_id"]
    approve = f"/applications/{application}/approve"
    before = head(client)

    too_early = client.post(approve, headers=auth("anna"), json={
        "approved_amount": "10.00", "decided_on": "2024-03-01"})

    assert (too_early.status_code, too_early.json()["code"]) == (409, "budget_exceeded")
    assert head(client) == before
    ok(client.post(approve, headers=auth("anna"), json={
        "approved_amount": "10.00", "decided_on": "2024-06-01"}))
    at = {"min_position": head(client)}
    for day, funded_then in (("2024-03-01", "0.00"), ("2024-06-01", "50.00")):
        accounts = ok(client.get(f"/programmes/{pid}/accounts", headers=auth("fritz"),
                                 params={**at, "effective_on": day, "limit": 1000}))
        balances = {a["account"]: a["balance"] for a in accounts["accounts"]}
        reconciliation = ok(client.get(f"/programmes/{pid}/reconciliation/2024",
                                       headers=auth("fritz"), params={**at, "effective_on": day}))
        assert [a for a, b in balances.items() if b.startswith("-") and a.startswith((
            "unallocated:", "phase:", "outstanding:", "paid:"))] == [], (day, balances)
        assert balances.get("unallocated:2024", "0.00") == (
            "0.00" if day < "2024-06-01" else "50.00"), (day, balances)
        assert (reconciliation["funded_to_phases"], reconciliation["balanced"]) == (
            funded_then, True), (day, reconciliation)
    assert phase["envelope"] == "50.00"


def test_a_statement_by_business_date_counts_what_phase_totals_count(
        client: TestClient) -> None:
    """By business date, each application on a statement is its events dated by then,
    folded in the order recorded: not a state recorded later, which may hold changes
    dated after the date (a revocation dated later, seen through a repayment recorded
    after it). An undated amendment corrects the application from its own date on, in
    both; a withdrawal after it takes the corrected request out of `requested`."""
    setup = funded(client, recipients=2)
    amended = submitted(client, setup, 0, amount="20000.00")  # 2020-03-01
    ok(client.post(f"/applications/{amended}/amend", headers=auth("clara"),
                   json={"requested_amount": "15000.00", "reason": "fewer"}))  # undated
    withdrawn = submitted(client, setup, 1, amount="1000.00")
    ok(client.post(f"/applications/{withdrawn}/amend", headers=auth("clara"),
                   json={"requested_amount": "900.00", "reason": "fewer"}))
    ok(client.post(f"/applications/{withdrawn}/withdraw", headers=auth("clara"),
                   json={"reason": "x", "withdrawn_on": "2020-03-05"}))
    ok(client.post(f"/applications/{amended}/approve", headers=auth("anna"),
                   json={"approved_amount": "15000.00", "decided_on": "2020-04-01"}))
    revoked = approved(client, setup, 1, amount="10000.00")  # decided 2020-04-01
    path = f"/applications/{revoked}"
    drawn = ok(client.post(f"{path}/drawdowns", headers=auth("clara"),
                           json={"amount": "6000.00", "requested_on": "2020-05-01"}), 201)
    ok(client.post(f"{path}/drawdowns/{drawn['drawdown_id']}/pay", headers=auth("fritz"),
                   json={"paid_on": "2020-05-02"}))
    ok(client.post(f"{path}/revoke", headers=auth("anna"),
                   json={"reason": "misuse", "decided_on": "2021-04-01"}))
    ok(client.post(f"{path}/repayments", headers=auth("fritz"), json={
        "amount": "1000.00", "received_on": "2021-03-15", "reason": "unused"}), 201)
    at = {"min_position": head(client)}

    def statement(rid: str, day: str) -> dict[str, dict]:
        answer = ok(client.get(f"/recipients/{rid}/statement", headers=auth("fritz"),
                               params={**at, "effective_on": day}))
        return {a["application_id"]: a for a in answer["applications"]}

    totals = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("fritz"),
                           params={**at, "effective_on": "2020-12-31"}))
    early = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("fritz"),
                          params={**at, "effective_on": "2020-03-10"}))
    first = statement(setup.recipients[0], "2020-12-31")[amended]
    second = statement(setup.recipients[1], "2021-03-20")[revoked]

    assert totals["requested"] == "25000.00"  # 15,000.00 as amended + 10,000.00
    # on 2020-03-10: both open ones submitted (15,000.00 as amended, 10,000.00), and the
    # withdrawn one out of `requested` with all of its corrected 900.00
    assert (early["requested"], early["counts"]) == ("25000.00", {"submitted": 2,
                                                                  "withdrawn": 1})
    assert statement(setup.recipients[1], "2020-03-10")[withdrawn]["status"] == "withdrawn"
    assert (first["status"], first["requested"], first["awarded"]) == (
        "approved", "15000.00", "15000.00")
    assert (second["status"], second["paid"], second["repaid"]) == (
        "approved", "6000.00", "1000.00")
    assert statement(setup.recipients[1], "2021-04-01")[revoked]["status"] == "revoked"


def test_an_application_by_business_date_is_its_row_of_the_statement_then(
        client: TestClient) -> None:
    """GET /applications/{id}?effective_on=: the application as its events dated by then
    left it — status, money, drawdowns — the same figures as its row of the recipient's
    statement by that date; before its submission a 404 that says so, and an unknown id
    its own 404."""
    setup = funded(client, recipients=1)
    grant = approved(client, setup, 0, amount="10000.00")  # submitted 03-01, decided 04-01
    path = f"/applications/{grant}"
    first = ok(client.post(f"{path}/drawdowns", headers=auth("clara"),
                           json={"amount": "6000.00", "requested_on": "2020-05-01"}), 201)
    paid = ok(client.post(f"{path}/drawdowns/{first['drawdown_id']}/pay",
                          headers=auth("fritz"), json={"paid_on": "2020-05-20"}))
    second = ok(client.post(f"{path}/drawdowns", headers=auth("clara"),
                            json={"amount": "1000.00", "requested_on": "2020-06-01"}), 201)
    ok(client.post(f"{path}/repayments", headers=auth("fritz"), json={
        "amount": "500.00", "received_on": "2020-07-01", "reason": "unused"}), 201)
    ok(client.post(f"{path}/award-amendments", headers=auth("anna"), json={
        "new_amount": "8000.00", "reason": "less", "decided_on": "2020-08-01"}))
    at = {"min_position": head(client)}

    def on(day: str) -> dict:
        return ok(client.get(path, headers=auth("fritz"), params={**at, "effective_on": day}))

    def row(day: str) -> dict:
        statement = ok(client.get(f"/recipients/{setup.recipients[0]}/statement",
                                  headers=auth("fritz"), params={**at, "effective_on": day}))
        (only,) = statement["applications"]
        return only

    days = ["2020-03-01", "2020-04-01", "2020-05-10", "2020-05-20", "2020-06-15",
            "2020-07-01", "2020-08-01", "2099-12-31"]
    for day in days:
        answer, expected = on(day), row(day)
        assert answer["effective_on"] == day
        assert {name: answer[name] for name in ("status", "requested", "awarded", "paid",
                                                "repaid", "net_paid")} == {
            name: expected[name] for name in ("status", "requested", "awarded", "paid",
                                              "repaid", "net_paid")}, day
        assert answer["outstanding"] == expected["balance"], day
    assert [(d["drawdown_id"], d["status"]) for d in on("2020-05-10")["drawdowns"]] == [
        (first["drawdown_id"], "requested")]
    assert [(d["drawdown_id"], d["status"]) for d in on("2020-06-15")["drawdowns"]] == [
        (first["drawdown_id"], "paid"), (second["drawdown_id"], "requested")]
    assert (on("2020-04-01")["awarded"], on("2020-08-01")["awarded"]) == ("10000.00",
                                                                          "8000.00")
    # what was recorded by the payment, about any date: the rest was not yet known
    then = ok(client.get(path, headers=auth("fritz"), params={
        **at, "as_of_position": paid["position"], "effective_on": "2099-12-31"}))
    assert (then["position"], then["paid"], then["repaid"], then["awarded"]) == (
        paid["position"], "6000.00", "0.00", "10000.00")
    assert [(d["drawdown_id"], d["status"]) for d in then["drawdowns"]] == [
        (first["drawdown_id"], "paid")]
    now = ok(client.get(path, headers=auth("fritz"), params=at))
    assert "effective_on" not in now and now["awarded"] == on("2099-12-31")["awarded"]

    before = client.get(path, headers=auth("fritz"), params={**at, "effective_on": "2020-02-28"})
    unknown = client.get("/applications/no-such-application", headers=auth("fritz"),
                         params={**at, "effective_on": "2020-06-01"})
    bad = client.get(path, headers=auth("fritz"), params={"effective_on": "2020-02-30"})
    # asked again without min_position, answered before routing (api/shortcut.py): the same
    plain = [client.get(path, headers=auth("fritz"), params={"effective_on": day})
             for day in ("2020-05-10", "2020-06-15", "2020-02-28", "2020-05-10")]
    assert [p.status_code for p in plain] == [200, 200, 404, 200]
    assert [plain[0].json(), plain[1].json()] == [on("2020-05-10"), on("2020-06-15")]
    assert plain[3].json() == plain[0].json()
    assert (before.status_code, before.json()["code"]) == (404, "not_found")
    assert "was not submitted by 2020-02-28" in before.json()["detail"]
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert "unknown application" in unknown.json()["detail"]
    assert (bad.status_code, bad.json()["code"]) == (422, "validation")


def test_a_year_closed_later_is_open_in_a_reconciliation_by_an_earlier_date(
        client: TestClient) -> None:
    setup = funded(client)
    ok(client.post(f"/programmes/{setup.programme_id}/budgets/2020/close",
                   headers=auth("fritz"), json={"closed_on": "2021-01-15"}))
    path = f"/programmes/{setup.programme_id}/reconciliation/2020"

    def on(day: str) -> dict:
        return ok(client.get(path, headers=auth("fritz"), params={
            "effective_on": day, "min_position": head(client)}))

    before, after = on("2020-12-31"), on("2021-01-15")

    assert (before["status"], before["closed_on"], before["lapsed"]) == ("open", None, "0.00")
    assert (after["status"], after["closed_on"]) == ("closed", "2021-01-15")
    assert after["lapsed"] == before["unallocated"] != "0.00"


def test_money_is_not_awarded_paid_or_repaid_by_date_before_it_is_there(
        client: TestClient) -> None:
    """SPEC §3: phase:P, outstanding:A and paid:A never go negative — by business date
    too. An award dated before another grant's release that makes room for it, a payment
    dated before the award increase it needs, and a repayment dated before the payment
    it gives back, or an award cut dated before payments it had to cover, made figures by
    that date negative (available −100.00, net_paid −5,000.00); they are refused, and the
    same on a date the money is there recorded."""
    setup = funded(client, recipients=3)
    grant = approved(client, setup, 2, amount="10000.00")  # 2020-04-01
    path = f"/applications/{grant}"
    envelope_rest = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("fritz"),
                                  params={"min_position": head(client)}))["available"]
    big = approved(client, setup, 0, amount=envelope_rest)  # the rest of it, 2020-04-01
    ok(client.post(f"/applications/{big}/close", headers=auth("anna"),
                   json={"closed_on": "2020-09-01"}))  # releases all of it on 2020-09-01
    waiting = submitted(client, setup, 1, amount="100.00")  # 2020-03-01

    def drawdown(amount: str, requested_on: str, paid_on: str) -> None:
        drawn = ok(client.post(f"{path}/drawdowns", headers=auth("clara"), json={
            "amount": amount, "requested_on": requested_on}), 201)
        ok(client.post(f"{path}/drawdowns/{drawn['drawdown_id']}/pay",
                       headers=auth("fritz"), json={"paid_on": paid_on}))

    drawdown("3000.00", "2020-04-02", "2020-04-02")
    drawdown("7000.00", "2020-08-01", "2020-08-02")
    ok(client.post(f"{path}/award-amendments", headers=auth("arne"), json={
        "new_amount": "15000.00", "reason": "more", "decided_on": "2020-10-01"}))
    third = ok(client.post(f"{path}/drawdowns", headers=auth("clara"), json={
        "amount": "5000.00", "requested_on": "2020-09-01"}), 201)["drawdown_id"]
    before = head(client)

    early_award = client.post(f"/applications/{waiting}/approve", headers=auth("anna"),
                              json={"approved_amount": "100.00", "decided_on": "2020-05-01"})
    early_payment = client.post(f"{path}/drawdowns/{third}/pay", headers=auth("fritz"),
                                json={"paid_on": "2020-09-02"})  # the 5,000.00 from 10-01
    early_repayment = client.post(f"{path}/repayments", headers=auth("fritz"), json={
        "amount": "8000.00", "received_on": "2020-05-01", "reason": "unused"})
    # 12,000.00 is above all that is paid now, but by 2020-08-02 the award was 10,000.00,
    # all of it paid: cut by 3,000.00 on 2020-05-01 it would be 3,000.00 short then (and
    # it is dated before the raise of 2020-10-01 it would cut: date_order comes first).
    early_cut = client.post(f"{path}/award-amendments", headers=auth("arne"), json={
        "new_amount": "12000.00", "reason": "x", "decided_on": "2020-05-01"})

    assert (early_award.status_code, early_award.json()["code"]) == (409, "budget_exceeded")
    assert (early_repayment.status_code, early_repayment.json()["code"]) == (
        409, "over_repayment")
    assert (early_cut.status_code, early_cut.json()["code"]) == (409, "date_order")
    assert (early_payment.status_code, early_payment.json()["code"]) == (
        409, "over_drawdown")
    assert head(client) == before
    ok(client.post(f"/applications/{waiting}/approve", headers=auth("anna"),
                   json={"approved_amount": "100.00", "decided_on": "2020-09-01"}))
    ok(client.post(f"{path}/repayments", headers=auth("fritz"), json={
        "amount": "8000.00", "received_on": "2020-08-02", "reason": "unused"}), 201)
    ok(client.post(f"{path}/drawdowns/{third}/pay", headers=auth("fritz"),
                   json={"paid_on": "2020-10-01"}))
    for day in ("2020-04-30", "2020-05-01", "2020-08-01", "2020-09-01"):
        accounts = ok(client.get(f"/programmes/{setup.programme_id}/accounts",
                                 headers=auth("fritz"), params={
                                     "effective_on": day, "min_position": head(client),
                                     "limit": 1000}))
        negative = [a for a in accounts["accounts"] if a["balance"].startswith("-")
                    and a["account"].split(":")[0] in ("phase", "outstanding", "paid",
                                                       "unallocated")]
        assert negative == [], (day, negative)


def test_a_budget_by_date_counts_each_day_as_a_whole(client: TestClient) -> None:
    """Two changes of one day (a spending and a supplement) are that day's balance
    together, whatever order they were recorded in: money spent on an earlier day from
    what that day still holds is not refused for a dip inside a later day."""
    setup = funded(client)
    base = f"/programmes/{setup.programme_id}/budgets"
    ok(client.post(base, headers=auth("fritz"), json={
        "fiscal_year": 2021, "amount": "100.00", "effective_date": "2021-01-01"}), 201)
    ok(client.post(f"{base}/2021/expenditures", headers=auth("fritz"), json={
        "amount": "100.00", "paid_on": "2021-06-01", "payee": "p", "purpose": "x"}), 201)
    ok(client.post(f"{base}/2021/amend", headers=auth("fritz"), json={
        "new_amount": "200.00", "reason": "supplement", "effective_date": "2021-06-01"}))

    earlier = client.post(f"{base}/2021/expenditures", headers=auth("fritz"), json={
        "amount": "50.00", "paid_on": "2021-03-01", "payee": "p", "purpose": "x"})
    too_much = client.post(f"{base}/2021/expenditures", headers=auth("fritz"), json={
        "amount": "60.00", "paid_on": "2021-03-01", "payee": "p", "purpose": "x"})

    assert earlier.status_code == 201, earlier.text
    assert (too_much.status_code, too_much.json()["code"]) == (409, "budget_exceeded")


def test_a_grant_is_not_closed_or_revoked_before_an_award_raised_later(
        client: TestClient) -> None:
    """A closure releases the award's unpaid rest on its date: with the award raised on a
    later date, part of that rest was not awarded yet (outstanding:A went −150.00 by that
    date). Refused (date_order); on or after the raise, recorded."""
    setup = funded(client, recipients=1)
    grant = approved(client, setup, 0, amount="150.00")  # decided 2020-04-01
    path = f"/applications/{grant}"
    ok(client.post(f"{path}/award-amendments", headers=auth("arne"), json={
        "new_amount": "300.00", "reason": "more", "decided_on": "2020-09-01"}))
    before = head(client)

    early_close = client.post(f"{path}/close", headers=auth("anna"),
                              json={"closed_on": "2020-07-05"})
    early_revoke = client.post(f"{path}/revoke", headers=auth("anna"),
                               json={"reason": "x", "decided_on": "2020-07-05"})

    assert (early_close.status_code, early_close.json()["code"]) == (409, "date_order")
    assert (early_revoke.status_code, early_revoke.json()["code"]) == (409, "date_order")
    assert head(client) == before
    ok(client.post(f"{path}/close", headers=auth("anna"), json={"closed_on": "2020-09-01"}))


def test_award_and_budget_decisions_follow_the_last_one_and_closures_every_payment(
        client: TestClient) -> None:
    """I14: an award amendment dated before the last one (it made 'awarded' 70.00 on a
    date, an amount nobody decided), a budget amendment likewise, and a closure dated
    before a payment made are refused; an undated amendment whose application's date
    lies in a closed year takes the day it is recorded instead of being refused."""
    setup = funded(client, recipients=2)
    grant = approved(client, setup, 0, amount="100.00")  # decided 2020-04-01
    path = f"/applications/{grant}"
    ok(client.post(f"{path}/award-amendments", headers=auth("arne"), json={
        "new_amount": "150.00", "reason": "more", "decided_on": "2020-06-01"}))
    drawn = ok(client.post(f"{path}/drawdowns", headers=auth("clara"), json={
        "amount": "60.00", "requested_on": "2020-09-01"}), 201)
    ok(client.post(f"{path}/drawdowns/{drawn['drawdown_id']}/pay", headers=auth("fritz"),
                   json={"paid_on": "2020-09-10"}))
    budgets = f"/programmes/{setup.programme_id}/budgets/2020"
    ok(client.post(f"{budgets}/amend", headers=auth("fritz"), json={
        "new_amount": "21000000.00", "reason": "more", "effective_date": "2020-06-01"}))
    before = head(client)

    refused = {
        "award amendment before the last": client.post(
            f"{path}/award-amendments", headers=auth("arne"), json={
                "new_amount": "120.00", "reason": "less", "decided_on": "2020-05-01"}),
        "budget amendment before the last": client.post(f"{budgets}/amend",
            headers=auth("fritz"), json={"new_amount": "20500000.00", "reason": "less",
                                         "effective_date": "2020-04-01"}),
        "closure before a payment": client.post(f"{path}/close", headers=auth("anna"),
                                                json={"closed_on": "2020-09-05"}),
    }

    for what, response in refused.items():
        assert (response.status_code, response.json().get("code")) == (409, "date_order"), (
            what, response.text)
    assert head(client) == before
    late = submitted(client, setup, 1)  # 2020-03-01
    ok(client.post(f"{budgets}/close", headers=auth("fritz"), json={"closed_on": "2021-01-01"}))
    amended = client.post(f"/applications/{late}/amend", headers=auth("clara"), json={
        "requested_amount": "40000.00", "reason": "fewer"})
    assert amended.status_code == 200, amended.text


def test_what_follows_an_amendment_dated_the_day_recorded_is_not_dated_before_it(
        client: TestClient) -> None:
    """An undated amendment whose application's date lies in a closed year takes the day
    it is recorded; a withdrawal dated before that day would leave figures by business
    date counting the withdrawal of a request not yet amended then (phase totals showed
    requested -500.00), so it is refused, and one dated that day is taken."""
    setup = funded(client, recipients=1)
    application = submitted(client, setup, 0, amount="1000.00")  # 2020-03-01
    path = f"/applications/{application}"
    ok(client.post(f"/programmes/{setup.programme_id}/budgets/2020/close",
                   headers=auth("fritz"), json={"closed_on": "2020-12-31"}))
    ok(client.post(f"{path}/amend", headers=auth("clara"), json={
        "requested_amount": "1500.00", "reason": "Korrektur", "measures": [
            {"category": "strategy", "description": "Strategie", "amount": "1500.00"}]}))
    history = ok(client.get(f"{path}/history", params={"min_position": head(client)},
                            headers=auth("ida")))
    amended_on = history["items"][-1]["effective_date"]
    before = head(client)

    early = client.post(f"{path}/withdraw", headers=auth("clara"), json={
        "reason": "zurück", "withdrawn_on": "2021-01-31"})

    assert (early.status_code, early.json()["code"]) == (409, "date_order"), early.text
    assert amended_on in early.json()["detail"]
    assert head(client) == before
    withdrawn = ok(client.post(f"{path}/withdraw", headers=auth("clara"), json={
        "reason": "zurück", "withdrawn_on": amended_on}))
    for day in ("2021-03-03", amended_on):
        totals = ok(client.get(f"/phases/{setup.phase_id}/totals", headers=auth("ida"),
                               params={"effective_on": day,
                                       "min_position": withdrawn["position"]}))
        assert (totals["requested"], totals["requested_by_category"]) == (
            "1000.00" if day < amended_on else "0.00", {}), (day, totals)


def test_requested_drills_down_by_business_date_to_each_application_as_it_stood(
        client: TestClient) -> None:
    """`requested` by a business date lists each application with what it requested by
    then (its submission or the amendment effective by then as the evidence), leaves out
    one submitted later or withdrawn by then, and sums to the figure, by kind too, as of
    a position as well as now."""
    setup = funded(client, recipients=3)
    amended = submitted(client, setup, 0, amount="1000.00")  # submitted 2020-03-01
    ok(client.post(f"/applications/{amended}/amend", headers=auth("clara"), json={
        "requested_amount": "1500.00", "reason": "more", "amended_on": "2020-06-01"}))
    withdrawn = submitted(client, setup, 1, amount="200.00")
    before_withdrawal = head(client)
    ok(client.post(f"/applications/{withdrawn}/withdraw", headers=auth("clara"),
                   json={"reason": "x", "withdrawn_on": "2020-07-01"}))
    later = ok(client.post("/applications", headers=auth("clara"), json={
        "phase_id": setup.phase_id, "recipient_id": setup.recipients[2],
        "requested_amount": "30.00", "submitted_on": "2020-08-01"}), 201)["application_id"]
    now = head(client)

    def drill(day: str, **params: object) -> tuple[dict[str, tuple[str, str]], str, str]:
        path = f"/phases/{setup.phase_id}"
        query = {"effective_on": day, "min_position": now, "limit": 1, **params}
        items, cursor = [], None
        while True:
            page = ok(client.get(f"{path}/totals/requested/entries", headers=auth("ida"),
                                 params={**query, **({"cursor": cursor} if cursor else {})}))
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        totals = ok(client.get(f"{path}/totals", headers=auth("ida"), params={
            k: v for k, v in query.items() if k not in ("limit", "recipient_kind")}))
        kind = params.get("recipient_kind")
        figure = (totals["requested"] if kind is None
                  else totals["by_kind"].get(kind, {}).get("requested", "0.00"))
        return ({i["application_id"]: (i["amount"], i["event_type"]) for i in items},
                page["total"], figure)

    assert drill("2020-02-28") == ({}, "0.00", "0.00")
    assert drill("2020-05-31") == ({amended: ("1000.00", "Submitted"),
                                    withdrawn: ("200.00", "Submitted")}, "1200.00", "1200.00")
    assert drill("2020-06-01") == ({amended: ("1500.00", "Amended"),
                                    withdrawn: ("200.00", "Submitted")}, "1700.00", "1700.00")
    assert drill("2020-07-01") == ({amended: ("1500.00", "Amended")}, "1500.00", "1500.00")
    assert drill("2020-12-31") == ({amended: ("1500.00", "Amended"),
                                    later: ("30.00", "Submitted")}, "1530.00", "1530.00")
    assert drill("2020-12-31", recipient_kind="gemeinde")[1:] == ("1530.00", "1530.00")
    assert drill("2020-12-31", recipient_kind="stadt") == ({}, "0.00", "0.00")
    # as recorded before the withdrawal: still live on every later day
    assert drill("2020-12-31", as_of_position=before_withdrawal) == (
        {amended: ("1500.00", "Amended"), withdrawn: ("200.00", "Submitted")},
        "1700.00", "1700.00")
