"""A per-key rate limit on expensive requests: 429 problem+json with Retry-After."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, auth
from tests.api.scenario import funded, head


@pytest.fixture
def limited(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("LEDGER_RATE_LIMIT", "3/minute")
    return make_client("memory://")


def test_a_key_looping_integrity_gets_429_with_retry_after(limited: TestClient) -> None:
    answers = [limited.get("/integrity", headers=auth("ida")) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_the_limit_counts_per_key_and_only_expensive_requests(limited: TestClient) -> None:
    setup = funded(limited)
    for _ in range(3):
        limited.get("/audit", headers=auth("ida", Accept="text/csv"))

    csv_again = limited.get("/audit", headers=auth("ida", Accept="text/csv"))
    big_page = limited.get("/audit", headers=auth("ida"), params={"limit": 500})
    small_pages = [limited.get("/audit", headers=auth("ida"), params={"limit": 100})
                   for _ in range(5)]
    written = head(limited)  # the phase is written; its read model may lag behind
    lookups = [limited.get(f"/phases/{setup.phase_id}", headers=auth("ida"),
                           params={"min_position": written}) for _ in range(5)]
    other_key = limited.get("/audit", headers=auth("fritz", Accept="text/csv"))

    assert (csv_again.status_code, big_page.status_code) == (429, 429)
    assert {r.status_code for r in small_pages + lookups} == {200}
    assert other_key.status_code == 200


def test_without_a_key_nothing_is_counted(limited: TestClient) -> None:
    anonymous = [limited.get("/integrity") for _ in range(5)]

    assert {r.status_code for r in anonymous} == {401}
    assert limited.get("/integrity", headers=auth("ida")).status_code == 200


def test_requests_refused_by_role_are_not_counted(limited: TestClient) -> None:
    """A clerk may not read the raw log (403): those refusals cost nothing and must not
    use up the key's allowance for what it may read (they ran into 429 before)."""
    refused = [limited.get("/events", headers=auth("clara")) for _ in range(5)]

    allowed = [limited.get("/applications", headers=auth("clara", Accept="text/csv"))
               for _ in range(3)]

    assert {r.status_code for r in refused} == {403}
    assert [r.status_code for r in allowed] == [200, 200, 200]
