"""HEAD is GET without the content (RFC 9110 §9.3.2): FastAPI answered 405 for it on
every resource."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenario import funded
from tests.api.scenario import head as log_head


def test_head_answers_as_get_does_without_the_content(client: TestClient) -> None:
    setup = funded(client)
    # the read models at the head first: a GET before and a HEAD after they project the
    # programme would differ (404, then 200) for a reason that is not HEAD's
    client.app.state.read_models.wait_for(log_head(client), 10)  # type: ignore[attr-defined]
    paths = ["/health", f"/phases/{setup.phase_id}/totals", "/applications",
             f"/programmes/{setup.programme_id}/accounts", "/phases/no-such-phase/totals"]

    for path in paths:
        got, head = (client.request(method, path, headers=auth("ida"))
                     for method in ("GET", "HEAD"))
        assert head.status_code == got.status_code, (path, head.text)
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == str(len(got.content)), path
    assert client.head("/health").status_code == 200  # no key needed, as for GET
    assert client.head("/applications").status_code == 401


def test_head_of_a_stream_ends_after_its_headers(client: TestClient) -> None:
    head = client.head("/events/stream", headers=auth("ida"))

    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/event-stream")


def test_head_is_no_way_around_a_method_a_path_does_not_have(client: TestClient) -> None:
    answer = client.head("/applications/x1/approve", headers=auth("anna"))

    assert answer.status_code == 405


def test_head_is_counted_under_its_route(memory_client: TestClient) -> None:
    """The route is matched on the GET the route sees; the metrics outside count HEAD under
    it, not as `unmatched`."""
    for _ in range(3):
        assert memory_client.head("/applications", headers=auth("ida")).status_code == 200

    metrics = memory_client.get("/metrics").text

    assert 'ledger_http_requests_total{method="HEAD",route="/applications",status="200"} 3.0' \
        in metrics
    assert 'method="HEAD",route="unmatched"' not in metrics
