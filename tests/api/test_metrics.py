"""GET /metrics (issue 10): Prometheus text with requests by route template and status,
latencies, commands by outcome code, the head and the projections' positions and lag."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import auth
from tests.api.scenario import funded, head, ok


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def test_metrics_count_requests_commands_and_positions(client: TestClient) -> None:
    setup = funded(client)
    refused = client.post("/programmes", headers=auth("ada"), json={
        "programme_id": setup.programme_id, "name": "again", "funder": "Hessen"})
    ok(client.get(f"/phases/{setup.phase_id}", headers=auth("ida"),
                  params={"min_position": head(client)}))
    client.get("/no/such/path")

    samples = _samples(client)

    assert refused.status_code == 409
    assert samples[("ledger_http_requests_total", (
        ("method", "GET"), ("route", "/phases/{phase_id}"), ("status", "200")))] == 1
    assert samples[("ledger_http_requests_total", (
        ("method", "POST"), ("route", "/programmes"), ("status", "409")))] == 1
    assert samples[("ledger_http_requests_total", (
        ("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert samples[("ledger_commands_total", (
        ("command", "create_programme"), ("outcome", "ok")))] == 1
    assert samples[("ledger_commands_total", (
        ("command", "create_programme"), ("outcome", "already_exists")))] == 1
    assert samples[("ledger_http_request_duration_seconds_count", (
        ("method", "POST"), ("route", "/programmes")))] == 2
    assert samples[("ledger_command_duration_seconds_count", (
        ("command", "open_phase"),))] == 1
    head_position = samples[("ledger_head_position", ())]
    assert head_position == head(client)
    for projection in ("audit", "grants"):
        position = samples[("ledger_projection_position", (("projection", projection),))]
        lag = samples[("ledger_projection_lag_events", (("projection", projection),))]
        assert position + lag == head_position


def test_metrics_need_no_key_and_refuse_unknown_parameters(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", params={"x": "1"}).json()["code"] == "validation"


def test_no_id_becomes_a_label(client: TestClient) -> None:
    setup = funded(client)
    client.get(f"/programmes/{setup.programme_id}", headers=auth("ida"))

    text = client.get("/metrics").text

    assert setup.programme_id not in text and 'route="/programmes/{pid}"' in text
