"""Every command endpoint over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head, ok, submitted


def test_sets_up_programme_budget_phase_and_recipients(client: TestClient) -> None:
    setup = funded(client, recipients=2)

    at = {"min_position": head(client)}
    programme = client.get(f"/programmes/{setup.programme_id}", params=at,
                           headers=auth("ida")).json()
    phase = client.get(f"/phases/{setup.phase_id}", params=at, headers=auth("ida")).json()

    assert programme["budgets"][0]["appropriation"] == "20000000.00"
    assert programme["budgets"][0]["funded_to_phases"] == "16000000.00"
    assert phase["envelope"] == "16000000.00"
    assert phase["eligible_kinds"] == ["gemeinde", "stadt"]


def test_registers_one_recipient(client: TestClient) -> None:
    body = ok(client.post("/recipients", headers=auth("ada"), json={
        "recipient_id": "06411000", "name": "Darmstadt", "kind": "kreisfreie_stadt",
        "population": 159878}), 201)

    assert body["recipient_id"] == "06411000"
    assert body["population"] == 159878
    assert body["position"] > 0


def test_budget_amend_expenditure_and_close(client: TestClient) -> None:
    setup = funded(client)
    base = f"/programmes/{setup.programme_id}/budgets/2020"

    amended = ok(client.post(f"{base}/amend", headers=auth("fritz"), json={
        "new_amount": "21000000.00", "reason": "supplement", "effective_date": "2020-06-01"}))
    spent = ok(client.post(f"{base}/expenditures", headers=auth("fritz"), json={
        "amount": "250000.00", "paid_on": "2020-07-01", "payee": "ekom21",
        "purpose": "licence"}), 201)
    closed = ok(client.post(f"{base}/close", headers=auth("frieda"), json={
        "closed_on": "2020-12-31", "carry_over": "1000000.00"}))

    assert amended["budgets"][0]["appropriation"] == "21000000.00"
    assert spent["budgets"][0]["direct_expenditure"] == "250000.00"
    year = closed["budgets"][0]
    assert year["status"] == "closed"
    assert year["carried_out"] == "1000000.00"
    assert year["lapsed"] == "3750000.00"
    assert closed["position"] > spent["position"] > amended["position"]


def test_a_year_with_only_a_carry_in_is_a_budget(client: TestClient) -> None:
    """SPEC I2: a year's budget "+ carry-in". Money carried into a year that has no
    appropriation of its own funds phases, pays direct expenditure and is closed."""
    setup = funded(client)
    pid = setup.programme_id
    ok(client.post(f"/programmes/{pid}/budgets/2020/close", headers=auth("frieda"), json={
        "closed_on": "2020-12-31", "carry_over": "1000000.00"}))
    base = f"/programmes/{pid}/budgets/2021"
    ok(client.post(f"/programmes/{pid}/phases", headers=auth("ada"), json={
        "phase_id": f"{setup.phase_id}-2021", "name": "Phase 2", "fiscal_year": 2021,
        "envelope": "600000.00", "opens_on": "2021-02-01", "closes_on": "2021-12-31",
        "eligible_kinds": ["gemeinde"]}), 201)
    ok(client.post(f"{base}/expenditures", headers=auth("fritz"), json={
        "amount": "100000.00", "paid_on": "2021-03-01", "payee": "ekom21",
        "purpose": "licence"}), 201)
    over = client.post(f"{base}/expenditures", headers=auth("fritz"), json={
        "amount": "300000.01", "paid_on": "2021-03-01", "payee": "ekom21",
        "purpose": "licence"})
    amend = client.post(f"{base}/amend", headers=auth("fritz"), json={
        "new_amount": "5.00", "reason": "none yet", "effective_date": "2021-03-01"})
    closed = ok(client.post(f"{base}/close", headers=auth("frieda"), json={
        "closed_on": "2021-12-31"}))

    assert over.status_code == 409 and over.json()["code"] == "budget_exceeded"
    assert amend.status_code == 409 and amend.json()["code"] == "invalid_state"
    assert "appropriate it first" in amend.json()["detail"]
    year = next(b for b in closed["budgets"] if b["fiscal_year"] == 2021)
    assert (year["appropriation"], year["carried_in"], year["funded_to_phases"],
            year["direct_expenditure"], year["lapsed"], year["status"]) == (
        "0.00", "1000000.00", "600000.00", "100000.00", "300000.00", "closed")
    reconciliation = ok(client.get(f"/programmes/{pid}/reconciliation/2021",
                                   params={"min_position": closed["position"]},
                                   headers=auth("frieda")))
    assert reconciliation["carried_in"] == "1000000.00"
    assert reconciliation["lapsed"] == "300000.00"
    assert reconciliation["balanced"] is True


def test_a_year_closed_without_a_carry_over_leaves_the_next_year_unbudgeted(
    client: TestClient,
) -> None:
    """Nothing carried, nothing budgeted: the read side lists no next year the write side
    refuses, and its reconciliation is the same 404 as its commands."""
    setup = funded(client)
    pid = setup.programme_id
    closed = ok(client.post(f"/programmes/{pid}/budgets/2020/close", headers=auth("frieda"),
                            json={"closed_on": "2020-12-31"}))
    at = {"min_position": closed["position"]}
    programme = ok(client.get(f"/programmes/{pid}", params=at, headers=auth("ida")))
    reconciliation = client.get(f"/programmes/{pid}/reconciliation/2021", params=at,
                                headers=auth("frieda"))
    spend = client.post(f"/programmes/{pid}/budgets/2021/expenditures", headers=auth("fritz"),
                        json={"amount": "1.00", "paid_on": "2021-03-01", "payee": "ekom21",
                              "purpose": "licence"})

    assert [b["fiscal_year"] for b in closed["budgets"]] == [2020]
    assert [b["fiscal_year"] for b in programme["budgets"]] == [2020]
    assert programme["budgets"][0]["lapsed"] == "4000000.00"
    assert reconciliation.status_code == 404 and spend.status_code == 404
    assert "no budget for 2021" in reconciliation.json()["detail"]


def test_application_lifecycle_to_close(client: TestClient) -> None:
    setup = funded(client)
    application_id = submitted(client, setup)
    path = f"/applications/{application_id}"

    amended = ok(client.post(f"{path}/amend", headers=auth("clara"), json={
        "requested_amount": "40000.00", "reason": "smaller",
        "measures": [{"category": "website", "description": "portal", "amount": "40000.00"}]}))
    approved_ = ok(client.post(f"{path}/approve", headers=auth("anna"), json={
        "approved_amount": "40000.00", "decided_on": "2020-04-01",
        "decision_reference": "B-1"}))
    raised = ok(client.post(f"{path}/award-amendments", headers=auth("arne"), json={
        "new_amount": "45000.00", "reason": "more", "decided_on": "2020-04-02"}))
    drawn = ok(client.post(f"{path}/drawdowns", headers=auth("clara"), json={
        "amount": "30000.00", "requested_on": "2020-05-01"}), 201)
    paid = ok(client.post(f"{path}/drawdowns/{drawn['drawdown_id']}/pay",
                          headers=auth("fritz"), json={"paid_on": "2020-05-02"}))
    second = ok(client.post(f"{path}/drawdowns", headers=auth("carl"), json={
        "amount": "5000.00", "requested_on": "2020-05-03"}), 201)
    cancelled = ok(client.post(f"{path}/drawdowns/{second['drawdown_id']}/cancel",
                               headers=auth("frieda"), json={"reason": "not needed"}))
    repaid = ok(client.post(f"{path}/repayments", headers=auth("fritz"), json={
        "amount": "1000.00", "received_on": "2020-11-01", "reason": "unspent"}), 201)
    proof = ok(client.post(f"{path}/proof-of-use", headers=auth("clara"), json={
        "submitted_on": "2020-10-01", "spent_amount": "29000.00"}), 201)
    closed = ok(client.post(f"{path}/close", headers=auth("anna"), json={
        "closed_on": "2020-12-01"}))

    assert amended["requested"] == "40000.00"
    assert approved_["status"] == "approved" and approved_["awarded"] == "40000.00"
    assert raised["awarded"] == "45000.00"
    assert drawn["drawdown_id"] == "D1"
    assert paid["paid"] == "30000.00"
    assert paid["drawdowns"][0] == {**paid["drawdowns"][0], "status": "paid"}
    assert [d["status"] for d in cancelled["drawdowns"]] == ["paid", "cancelled"]
    assert repaid["repaid"] == "1000.00"
    assert proof["status"] == "approved"
    assert closed["status"] == "closed"
    assert closed["released"] == "15000.00"
    shown = client.get(path, params={"min_position": closed["position"]},
                       headers=auth("ida")).json()
    assert shown["status"] == "closed"


def test_reject_withdraw_and_revoke(client: TestClient) -> None:
    setup = funded(client)
    rejected_id = submitted(client, setup, 0)
    withdrawn_id = submitted(client, setup, 1)
    revoked_id = approved(client, setup, 2)

    rejected = ok(client.post(f"/applications/{rejected_id}/reject", headers=auth("anna"),
                              json={"reason": "incomplete", "decided_on": "2020-04-01"}))
    withdrawn = ok(client.post(f"/applications/{withdrawn_id}/withdraw", headers=auth("carl"),
                               json={"reason": "merged", "withdrawn_on": "2020-04-01"}))
    revoked = ok(client.post(f"/applications/{revoked_id}/revoke", headers=auth("anna"),
                             json={"reason": "fraud", "decided_on": "2020-06-01"}))

    assert rejected["status"] == "rejected"
    assert withdrawn["status"] == "withdrawn"
    assert revoked["status"] == "revoked" and revoked["released"] == "50000.00"


def test_four_eyes_counts_the_user_who_amended(client: TestClient) -> None:
    setup = funded(client)
    application_id = submitted(client, setup)  # recorded by clara
    ok(client.post(f"/applications/{application_id}/amend", headers=auth("root"),
                   json={"requested_amount": "1.00", "reason": "root edits"}))
    before = head(client)

    refused = client.post(f"/applications/{application_id}/approve", headers=auth("root"),
                          json={"approved_amount": "1.00", "decided_on": "2020-04-01"})
    allowed = client.post(f"/applications/{application_id}/approve", headers=auth("anna"),
                          json={"approved_amount": "1.00", "decided_on": "2020-04-01"})

    assert (refused.status_code, refused.json()["code"]) == (403, "four_eyes")
    assert allowed.status_code == 200
    assert head(client) > before


def test_four_eyes_refuses_paying_ones_own_drawdown(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup, amount="10.00")
    drawn = ok(client.post(f"/applications/{application_id}/drawdowns", headers=auth("root"),
                           json={"amount": "1.00", "requested_on": "2020-05-01"}), 201)
    pay = f"/applications/{application_id}/drawdowns/{drawn['drawdown_id']}/pay"
    before = head(client)

    own = client.post(pay, headers=auth("root"), json={"paid_on": "2020-05-02"})
    unchanged = head(client)
    other = client.post(pay, headers=auth("fritz"), json={"paid_on": "2020-05-02"})

    assert (own.status_code, own.json()["code"]) == (403, "four_eyes")
    assert unchanged == before
    assert other.status_code == 200 and other.json()["paid"] == "1.00"


def test_recorder_cannot_approve_even_holding_both_roles(client: TestClient) -> None:
    setup = funded(client)
    application_id = ok(client.post("/applications", headers=auth("root"), json={
        "phase_id": setup.phase_id, "recipient_id": setup.recipients[0],
        "requested_amount": "10.00", "submitted_on": "2020-03-01"}), 201)["application_id"]
    before = head(client)

    refused = client.post(f"/applications/{application_id}/approve", headers=auth("root"),
                          json={"approved_amount": "10.00", "decided_on": "2020-04-01"})

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "four_eyes"
    assert head(client) == before


def test_domain_refusals_map_to_their_codes(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup, amount="100.00")
    path = f"/applications/{application_id}"
    before = head(client)

    over = client.post(f"{path}/drawdowns", headers=auth("clara"),
                       json={"amount": "100.01", "requested_on": "2020-05-01"})
    duplicate = client.post("/applications", headers=auth("clara"), json={
        "phase_id": setup.phase_id, "recipient_id": setup.recipients[0],
        "requested_amount": "1.00", "submitted_on": "2020-03-01"})
    unknown = client.post("/applications/nope/approve", headers=auth("anna"),
                          json={"approved_amount": "1.00", "decided_on": "2020-04-01"})
    unknown_drawdown = client.post(f"{path}/drawdowns/D9/pay", headers=auth("fritz"),
                                   json={"paid_on": "2020-05-01"})
    invalid = client.post(f"{path}/approve", headers=auth("anna"),
                          json={"approved_amount": "1.00", "decided_on": "2020-04-01"})
    over_repay = client.post(f"{path}/repayments", headers=auth("fritz"),
                             json={"amount": "1.00", "received_on": "2020-05-01",
                                   "reason": "x"})
    budget = client.post(f"/programmes/{setup.programme_id}/phases", headers=auth("ada"), json={
        "phase_id": f"{setup.phase_id}-b", "name": "too big", "fiscal_year": 2020,
        "envelope": "4000000.01", "opens_on": "2020-01-01", "closes_on": "2020-12-31",
        "eligible_kinds": ["gemeinde"]})
    zero = client.post(f"{path}/drawdowns", headers=auth("clara"),
                       json={"amount": "0.00", "requested_on": "2020-05-01"})

    codes = [(r.status_code, r.json()["code"]) for r in
             (over, duplicate, unknown, unknown_drawdown, invalid, over_repay, budget, zero)]
    assert codes == [(409, "over_drawdown"), (409, "duplicate_application"),
                     (404, "not_found"), (404, "not_found"), (409, "invalid_state"),
                     (409, "over_repayment"), (409, "budget_exceeded"), (422, "validation")]
    assert head(client) == before


def test_a_budget_not_yet_given_out_may_be_cut_to_zero(client: TestClient) -> None:
    """A cut is a budget amendment (SPEC §3) and may take all that is unallocated: 0.00
    was refused as "at least 0.01". Below zero is refused, and so is a cut of money
    already given to a phase."""
    setup = funded(client)
    base = f"/programmes/{setup.programme_id}/budgets"
    ok(client.post(base, headers=auth("fritz"), json={
        "fiscal_year": 2021, "amount": "1000.00", "effective_date": "2021-01-01"}), 201)

    cut = ok(client.post(f"{base}/2021/amend", headers=auth("fritz"), json={
        "new_amount": "0.00", "reason": "cancelled", "effective_date": "2021-02-01"}))
    negative = client.post(f"{base}/2021/amend", headers=auth("fritz"), json={
        "new_amount": "-1.00", "reason": "x", "effective_date": "2021-02-01"})
    given_out = client.post(f"{base}/2020/amend", headers=auth("fritz"), json={
        "new_amount": "0.00", "reason": "x", "effective_date": "2020-06-01"})

    year = next(b for b in cut["budgets"] if b["fiscal_year"] == 2021)
    assert (year["appropriation"], year["unallocated"]) == ("0.00", "0.00")
    assert (negative.status_code, negative.json()["code"]) == (422, "validation")
    assert (given_out.status_code, given_out.json()["code"]) == (409, "budget_exceeded")


def test_a_phase_answers_the_same_shape_to_its_command_its_get_and_its_list(
        client: TestClient) -> None:
    setup = funded(client, recipients=1)
    pid = setup.programme_id
    opened = ok(client.post(f"/programmes/{pid}/phases", headers=auth("ada"), json={
        "phase_id": f"{setup.phase_id}-b", "name": "B", "fiscal_year": 2020,
        "envelope": "1000.00", "opens_on": "2020-01-01", "closes_on": "2020-12-31",
        "eligible_kinds": ["gemeinde", "stadt"], "allow_award_above_request": True}), 201)
    before = opened["position"]
    application = ok(client.post("/applications", headers=auth("clara"), json={
        "phase_id": f"{setup.phase_id}-b", "recipient_id": setup.recipients[0],
        "requested_amount": "300.00", "submitted_on": "2020-03-01"}), 201)["application_id"]
    ok(client.post(f"/applications/{application}/approve", headers=auth("anna"), json={
        "approved_amount": "400.00", "decided_on": "2020-04-01"}))
    at = {"min_position": head(client)}

    now = ok(client.get(f"/phases/{setup.phase_id}-b", headers=auth("ida"), params=at))
    then = ok(client.get(f"/phases/{setup.phase_id}-b", headers=auth("ida"),
                         params={"as_of_position": before}))
    listed = ok(client.get(f"/programmes/{pid}/phases", headers=auth("ida"), params=at))

    def without_position(answer: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in answer.items() if k != "position"}

    assert without_position(then) == without_position(opened)
    assert (now["committed"], now["available"]) == ("400.00", "600.00")
    assert now["allow_award_above_request"] is True
    assert without_position(now) == {**without_position(opened), "committed": "400.00",
                                     "available": "600.00"}
    item = next(p for p in listed["items"] if p["phase_id"] == f"{setup.phase_id}-b")
    assert without_position(item) == without_position(now)
