"""A funded programme and phase built over HTTP, for the API tests."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from tests.api.conftest import auth, suffix


@dataclass
class Setup:
    programme_id: str
    phase_id: str
    recipients: list[str]


def ok(response, status: int = 200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json()


def funded(client: TestClient, *, recipients: int = 3) -> Setup:
    s = suffix()
    pid, phase_id = f"prog-{s}", f"2020-{s}"
    ok(client.post("/programmes", headers=auth("ada"),
                   json={"programme_id": pid, "name": "Starke Heimat", "funder": "Hessen"}), 201)
    ok(client.post(f"/programmes/{pid}/budgets", headers=auth("fritz"),
                   json={"fiscal_year": 2020, "amount": "20000000.00",
                         "effective_date": "2020-01-01"}), 201)
    ok(client.post(f"/programmes/{pid}/phases", headers=auth("ada"),
                   json={"phase_id": phase_id, "name": "Phase 1", "fiscal_year": 2020,
                         "envelope": "16000000.00", "opens_on": "2020-01-01",
                         "closes_on": "2020-12-31",
                         "eligible_kinds": ["gemeinde", "stadt"]}), 201)
    ids = [f"r{s}{n}" for n in range(recipients)]
    ok(client.post("/recipients", headers=auth("ada"), json={"recipients": [
        {"recipient_id": rid, "name": f"Gemeinde {rid}", "kind": "gemeinde"} for rid in ids]}),
        201)
    return Setup(pid, phase_id, ids)


def submitted(client: TestClient, setup: Setup, recipient: int = 0,
              amount: str = "50000.00") -> str:
    body = ok(client.post("/applications", headers=auth("clara"), json={
        "phase_id": setup.phase_id, "recipient_id": setup.recipients[recipient],
        "requested_amount": amount, "submitted_on": "2020-03-01"}), 201)
    return str(body["application_id"])


def approved(client: TestClient, setup: Setup, recipient: int = 0,
             amount: str = "50000.00") -> str:
    application_id = submitted(client, setup, recipient, amount)
    ok(client.post(f"/applications/{application_id}/approve", headers=auth("anna"),
                   json={"approved_amount": amount, "decided_on": "2020-04-01"}))
    return application_id


def head(client: TestClient) -> int:
    return int(client.get("/health").json()["head"])
