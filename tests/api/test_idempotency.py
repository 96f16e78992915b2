"""Idempotency-Key (I12) and X-Request-ID over HTTP."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, auth
from tests.api.scenario import approved, funded, head, ok


def test_same_key_and_body_returns_first_answer_and_writes_nothing(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"amount": "100.00", "requested_on": "2020-05-01"}
    path = f"/applications/{application_id}/drawdowns"
    first = client.post(path, headers=auth("clara", **key), json=body)
    after_first = head(client)

    again = client.post(path, headers=auth("clara", **key), json=body)

    assert first.status_code == again.status_code == 201
    assert again.json()["drawdown_id"] == first.json()["drawdown_id"] == "D1"
    assert again.json()["position"] == first.json()["position"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(again.json()["drawdowns"]) == 1
    assert head(client) == after_first


def test_a_replay_answers_the_first_state_even_after_later_changes(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"amount": "100.00", "requested_on": "2020-05-01"}
    path = f"/applications/{application_id}/drawdowns"
    first = client.post(path, headers=auth("clara", **key), json=body)
    later = client.post(path, headers=auth("clara"), json={"amount": "5.00",
                                                          "requested_on": "2020-05-02"})
    assert later.status_code == 201 and len(later.json()["drawdowns"]) == 2

    again = client.post(path, headers=auth("clara", **key), json=body)

    assert again.status_code == 201
    assert again.json() == first.json()


@pytest.mark.parametrize("changed", [
    {"amount": "100.01"}, {"requested_on": "2020-05-02"},
])
def test_same_key_with_different_body_is_refused(
    client: TestClient, changed: dict[str, str]
) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"amount": "100.00", "requested_on": "2020-05-01"}
    path = f"/applications/{application_id}/drawdowns"
    ok(client.post(path, headers=auth("clara", **key), json=body), 201)
    before = head(client)

    refused = client.post(path, headers=auth("clara", **key), json={**body, **changed})

    assert refused.status_code == 422
    assert refused.json()["code"] == "idempotency_mismatch"
    assert head(client) == before


def test_same_key_on_another_endpoint_is_refused(memory_client: TestClient) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    ok(memory_client.post("/programmes", headers=auth("ada", **key),
                          json={"programme_id": "p1", "name": "n", "funder": "f"}), 201)

    refused = memory_client.post("/recipients", headers=auth("ada", **key), json={
        "recipient_id": "r1", "name": "n", "kind": "gemeinde"})

    assert refused.json()["code"] == "idempotency_mismatch"


def test_every_optional_field_counts_for_the_fingerprint(memory_client: TestClient) -> None:
    setup = funded(memory_client)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"phase_id": setup.phase_id, "recipient_id": setup.recipients[0],
            "requested_amount": "10.00", "submitted_on": "2020-03-01", "reference": "A"}
    ok(memory_client.post("/applications", headers=auth("clara", **key), json=body), 201)

    refused = memory_client.post("/applications", headers=auth("clara", **key),
                                 json={**body, "reference": "B"})
    with_measures = memory_client.post("/applications", headers=auth("clara", **key), json={
        **body, "measures": [{"category": "website", "description": "d", "amount": "10.00"}]})

    assert refused.json()["code"] == "idempotency_mismatch"
    assert with_measures.json()["code"] == "idempotency_mismatch"


def test_concurrent_retries_with_one_key_make_one_drawdown(
    postgres_url: str, make_client: ClientFactory
) -> None:
    client = make_client(postgres_url)
    setup = funded(client)
    application_id = approved(client, setup)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"amount": "100.00", "requested_on": "2020-05-01"}
    path = f"/applications/{application_id}/drawdowns"

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(
            lambda _: client.post(path, headers=auth("clara", **key), json=body), range(10)))

    assert [r.status_code for r in responses] == [201] * 10
    assert {r.json()["drawdown_id"] for r in responses} == {"D1"}
    state = client.get(f"/applications/{application_id}", headers=auth("ida"),
                       params={"min_position": head(client)}).json()
    assert [d["drawdown_id"] for d in state["drawdowns"]] == ["D1"]
    assert sum(1 for r in responses if r.headers.get("Idempotent-Replayed")) == 9


def test_request_id_is_echoed_and_stored_as_correlation_id(client: TestClient) -> None:
    request_id = f"req-{uuid.uuid4().hex}"

    created = client.post("/programmes", headers=auth("ada", **{"X-Request-ID": request_id}),
                          json={"programme_id": f"p-{uuid.uuid4().hex[:8]}", "name": "n",
                                "funder": "f"})
    generated = client.get("/health")
    events = client.get("/events", headers=auth("ida")).json()["items"]

    assert created.headers["X-Request-ID"] == request_id
    assert len(generated.headers["X-Request-ID"]) >= 16
    assert events[-1]["data"]["correlation_id"] == request_id
    assert events[-1]["data"]["actor"] == "ada"
    assert events[-1]["data"]["role"] == "admin"


def test_insane_request_id_is_replaced(memory_client: TestClient) -> None:
    response = memory_client.get("/health", headers={"X-Request-ID": "a b\tc" + "x" * 300})

    assert response.headers["X-Request-ID"] != "a b\tc" + "x" * 300


def test_two_users_same_key_are_independent(client: TestClient) -> None:
    setup = funded(client)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    bodies = {user: {"phase_id": setup.phase_id, "recipient_id": rid,
                     "requested_amount": amount, "submitted_on": "2020-03-01"}
              for user, rid, amount in (("clara", setup.recipients[0], "100.00"),
                                        ("carl", setup.recipients[1], "200.00"))}

    first = {user: client.post("/applications", headers=auth(user, **key), json=body)
             for user, body in bodies.items()}
    again = {user: client.post("/applications", headers=auth(user, **key), json=body)
             for user, body in bodies.items()}

    assert [r.status_code for r in first.values()] == [201, 201], first["carl"].text
    assert first["clara"].json()["application_id"] != first["carl"].json()["application_id"]
    assert first["carl"].json()["requested"] == "200.00"
    for user in bodies:
        assert again[user].json()["application_id"] == first[user].json()["application_id"]
        assert again[user].headers["Idempotent-Replayed"] == "true"


def test_a_mismatch_names_nothing_of_another_user(client: TestClient) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    path = f"/applications/{application_id}/drawdowns"
    ok(client.post(path, headers=auth("clara", **key),
                   json={"amount": "100.00", "requested_on": "2020-05-01"}), 201)

    others = client.post("/recipients", headers=auth("ada", **key), json={
        "recipient_id": f"r-{uuid.uuid4().hex[:8]}", "name": "Gemeinde", "kind": "gemeinde"})
    mine = client.post(path, headers=auth("clara", **key),
                       json={"amount": "5.00", "requested_on": "2020-05-01"})

    assert others.status_code == 201, others.text
    assert mine.status_code == 422 and mine.json()["code"] == "idempotency_mismatch"
    assert "recipient" not in mine.json()["detail"]
