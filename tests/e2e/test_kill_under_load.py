"""Fault injection (issue 9): SIGKILL of `ledger serve` on PostgreSQL in the middle of a
write burst of 8 clients, three times over. Every write the server acknowledged (2xx)
is in the log, no command is half-written, and `ledger verify` is clean."""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from ledger import Settings, build_ledger
from ledger.persistence.log import plain_decoder
from tests.support.faults import eventually
from tests.support.server import LEDGER, Server

CLIENTS = 8
ROUNDS = 3
KEYS = {"admin": "kill-admin-key-0123456789", "finance": "kill-finance-key-0123456789",
        "clerk": "kill-clerk-key-0123456789"}

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # about 30 s: three server starts


def _headers(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


def _setup(server: Server, recipients: list[str]) -> str:
    """A programme with a budget and an open phase; the recipients registered."""
    suffix = uuid.uuid4().hex[:6]
    programme_id, phase_id = f"prog-{suffix}", f"2020-{suffix}"
    steps = [
        ("admin", "/programmes", {"programme_id": programme_id, "name": "Starke Heimat",
                                  "funder": "Hessen"}),
        ("finance", f"/programmes/{programme_id}/budgets",
         {"fiscal_year": 2020, "amount": "20000000.00", "effective_date": "2020-01-01"}),
        ("admin", f"/programmes/{programme_id}/phases",
         {"phase_id": phase_id, "name": "Phase 1", "fiscal_year": 2020,
          "envelope": "16000000.00", "opens_on": "2020-01-01", "closes_on": "2020-12-31",
          "eligible_kinds": ["gemeinde"]}),
        ("admin", "/recipients", {"recipients": [
            {"recipient_id": rid, "name": f"Gemeinde {rid}", "kind": "gemeinde"}
            for rid in recipients]}),
    ]
    for role, path, body in steps:
        response = httpx.post(f"{server.base}{path}", headers=_headers(role), json=body,
                              timeout=30)
        assert response.status_code == 201, response.text
    return phase_id


class Burst:
    """8 clerks submitting applications as fast as the server answers, each for
    recipients of its own; what the server acknowledged is kept."""

    def __init__(self, server: Server, phase_id: str, recipients: list[list[str]]) -> None:
        self.acknowledged: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(server, phase_id, mine))
                         for mine in recipients]

    def __enter__(self) -> Burst:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for thread in self._threads:
            thread.join(timeout=60)

    def _client(self, server: Server, phase_id: str, recipients: list[str]) -> None:
        with httpx.Client(base_url=server.base, headers=_headers("clerk"), timeout=30) as http:
            while recipients:
                body = {"phase_id": phase_id, "recipient_id": recipients[-1],
                        "requested_amount": "1000.00", "submitted_on": "2020-03-01"}
                try:
                    response = http.post("/applications", json=body)
                except httpx.TransportError:
                    return  # the server died under us: this write was not acknowledged
                if response.is_success:
                    recipients.pop()
                    with self._lock:
                        self.acknowledged.append(response.json()["application_id"])
                elif response.status_code >= 500:
                    return
                else:  # e.g. 409: the last round committed it but died before answering
                    recipients.pop()

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)


def test_sigkill_during_a_write_burst_loses_no_acknowledged_write(
    postgres_url: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [
        {"key": key, "user": f"{role}-user", "roles": [role]} for role, key in KEYS.items()]}))
    env = {**os.environ, "LEDGER_DATABASE_URL": postgres_url,
           "LEDGER_API_KEYS_FILE": str(keys), "LEDGER_LOG_FORMAT": "json"}
    # Recipients that are never used up: each client has its own, more than a round takes.
    recipients = [[f"r{uuid.uuid4().hex[:10]}" for _ in range(400)] for _ in range(CLIENTS)]
    acknowledged: list[str] = []
    phase_id = ""
    for round_ in range(ROUNDS):
        server = Server(env)
        try:
            if round_ == 0:
                phase_id = _setup(server, [r for mine in recipients for r in mine])
            with Burst(server, phase_id, recipients) as burst:
                eventually(lambda b=burst: b.count() >= 20)
                time.sleep(random.uniform(0.1, 0.8))
                server.kill()
            acknowledged += burst.acknowledged
        finally:
            server.stop()

    ledger = build_ledger(Settings(database_url=postgres_url))
    try:
        submitted, received = _applications_in_the_log(ledger)
    finally:
        ledger.close()
    verify = subprocess.run([LEDGER, "verify"], env=env, capture_output=True, text=True,
                            timeout=300, check=False)

    assert len(acknowledged) >= ROUNDS * 20
    assert set(acknowledged) <= submitted, "an acknowledged write is missing from the log"
    # A submission is two events on two aggregates in one transaction: never one alone.
    assert submitted == received, "a half-written command is in the log"
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "verify: ok" in verify.stdout


def _applications_in_the_log(ledger: object) -> tuple[set[str], set[str]]:
    """Application ids of the Submitted events, and of the phase's ApplicationReceived."""
    decode = plain_decoder(ledger)  # type: ignore[arg-type]
    submitted: set[str] = set()
    received: set[str] = set()
    after = 0
    while records := ledger.chained_recorder.read_log(after=after, limit=1000):  # type: ignore[attr-defined]
        for record in records:
            if record.event_type == "Application.Submitted":
                submitted.add(record.originator_id)
            elif record.event_type == "Phase.ApplicationReceived":
                received.add(decode(record)["application_id"])
        after = records[-1].position
    return submitted, received
