"""Input the storage would refuse (NUL bytes, control characters) is a 422, never a 5xx.

Every path and query parameter the OpenAPI document names gets NUL and other control
characters; each answer is a 4xx problem and the log's head does not move.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ledger import Settings
from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head

HOSTILE = ["a\x00b", "\x00", "a\x01b", "a\x1bb", "a\x7fb"]
VALID = {"integer": "2020", "string": "x1"}


def _parameters() -> Iterator[tuple[str, str, dict[str, str], str, str]]:
    """(method, path template, valid path values, parameter, where) for every parameter."""
    document = create_app(Settings(database_url="memory://")).openapi()
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            parameters = [p for p in operation.get("parameters", [])
                          if p["in"] in ("path", "query")]
            valid = {p["name"]: VALID.get(p["schema"].get("type", "string"), "x1")
                     for p in parameters if p["in"] == "path"}
            for p in parameters:
                yield method.upper(), template, valid, p["name"], p["in"]


PARAMETERS = list(_parameters())


def _url(template: str, valid: dict[str, str], name: str, where: str, value: str) -> str:
    values = {**valid, name: value} if where == "path" else valid
    path = template.format(**{k: quote(v, safe="") for k, v in values.items()})
    return f"{path}?{name}={quote(value, safe='')}" if where == "query" else path


def test_the_openapi_document_names_parameters() -> None:
    assert len(PARAMETERS) > 50
    assert {(m, p) for m, _, _, p, _ in PARAMETERS} >= {
        ("GET", "cursor"), ("GET", "actor"), ("GET", "application_id")}


def test_refuses_control_characters_in_every_parameter(client: TestClient) -> None:
    funded(client)
    before = head(client)
    answers = []

    for method, template, valid, name, where in PARAMETERS:
        for value in HOSTILE:
            url = _url(template, valid, name, where, value)
            response = client.request(method, url, headers=auth("root"), json={})
            answers.append((method, url, response.status_code,
                            response.headers.get("content-type")))

    bad = [a for a in answers if not 400 <= a[2] < 500
           or a[3] != "application/problem+json"]
    assert bad == []
    assert head(client) == before


@pytest.mark.parametrize("url", [
    "/applications/a%00b",
    "/applications?cursor=AAAA",
    f"/applications?cursor={base64.urlsafe_b64encode(b'x' + bytes([1])).decode()}",
    "/audit?actor=a%00b",
    "/audit?entity_id=a%00b",
    "/audit?event_type=a%00b",
    "/audit?cursor=AAAA",
])
def test_refuses_nul_bytes_in_reads_with_validation(client: TestClient, url: str) -> None:
    response = client.get(url, headers=auth("root"))

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation"


def test_refuses_a_made_up_cursor_and_one_of_another_list(client: TestClient) -> None:
    """A cursor is opaque: well-formed base64 of something next_cursor never gave ("null",
    "-1") or another list's cursor is a 422, not a page that silently starts elsewhere."""
    setup = funded(client)
    real = client.get(f"/programmes/{setup.programme_id}/accounts", headers=auth("root"),
                      params={"limit": 1, "min_position": head(client)}).json()["next_cursor"]
    assert real is not None
    made_up = [base64.urlsafe_b64encode(text).decode().rstrip("=")
               for text in (b"null", b"-1", b"X", b"accounts|")]

    refused = [client.get(path, headers=auth("root"), params={"cursor": cursor})
               for cursor in [*made_up, real]
               for path in ("/applications", "/programmes", "/audit",
                            f"/phases/{setup.phase_id}/totals/paid/entries")]
    again = client.get(f"/programmes/{setup.programme_id}/accounts", headers=auth("root"),
                       params={"limit": 1, "cursor": real})

    assert [(r.status_code, r.json()["code"]) for r in refused] == [
        (422, "validation")] * len(refused)
    assert again.status_code == 200 and again.json()["accounts"]


def test_a_cursor_pages_the_list_it_came_from_not_another_scopes(client: TestClient) -> None:
    """Accounts of another programme, entries of another figure or phase are other lists:
    their cursor is refused rather than a page that silently starts elsewhere."""
    first, second = funded(client, recipients=2), funded(client, recipients=1)
    approved(client, first)
    approved(client, first, recipient=1)
    at = {"limit": 1, "min_position": head(client)}
    accounts = client.get(f"/programmes/{first.programme_id}/accounts", headers=auth("root"),
                          params=at).json()["next_cursor"]
    awarded = client.get(f"/phases/{first.phase_id}/totals/awarded/entries",
                         headers=auth("root"), params=at).json()["next_cursor"]
    assert accounts is not None and awarded is not None

    refused = [
        client.get(f"/programmes/{second.programme_id}/accounts", headers=auth("root"),
                   params={"cursor": accounts}),
        client.get(f"/phases/{second.phase_id}/totals/awarded/entries", headers=auth("root"),
                   params={"cursor": awarded}),
        client.get(f"/phases/{first.phase_id}/totals/committed/entries", headers=auth("root"),
                   params={"cursor": awarded}),
    ]
    again = client.get(f"/phases/{first.phase_id}/totals/awarded/entries",
                       headers=auth("root"), params={"cursor": awarded})

    assert [(r.status_code, r.json()["code"]) for r in refused] == [(422, "validation")] * 3
    assert again.status_code == 200 and again.json()["items"]


def test_a_list_cursor_pages_the_list_filtered_as_it_was(client: TestClient) -> None:
    first, second = funded(client, recipients=2), funded(client, recipients=2)
    for setup in (first, second):
        approved(client, setup)
        approved(client, setup, recipient=1)
    at = {"limit": 1, "min_position": head(client)}
    cursor = client.get("/applications", headers=auth("root"),
                        params={**at, "phase_id": first.phase_id}).json()["next_cursor"]
    assert cursor is not None

    other_phase = client.get("/applications", headers=auth("root"),
                             params={"phase_id": second.phase_id, "cursor": cursor})
    unfiltered = client.get("/applications", headers=auth("root"), params={"cursor": cursor})
    same = client.get("/applications", headers=auth("root"),
                      params={"phase_id": first.phase_id, "cursor": cursor})

    assert (other_phase.status_code, unfiltered.status_code) == (422, 422)
    assert same.status_code == 200 and len(same.json()["items"]) == 1


def test_refuses_control_characters_in_an_expenditure_purpose(client: TestClient) -> None:
    setup = funded(client)
    before = head(client)

    responses = [client.post(
        f"/programmes/{setup.programme_id}/budgets/2020/expenditures", headers=auth("fritz"),
        json={"amount": "10.00", "paid_on": "2020-05-01", "payee": "ekom21", "purpose": text})
        for text in ("licence\x00", "licence\x1b[31m", "licence\x7f")]

    assert [r.status_code for r in responses] == [422, 422, 422]
    assert {r.json()["code"] for r in responses} == {"validation"}
    assert head(client) == before


def test_maps_a_value_the_store_refuses_to_validation(postgres_url: str) -> None:
    import psycopg
    from fastapi import FastAPI

    from api.errors import install_error_handlers
    from tests.conftest import PG_DSN

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/probe")
    def probe() -> None:
        with psycopg.connect(PG_DSN) as conn:
            conn.execute("SELECT %s::text", ("a\x00b",))

    response = TestClient(app, raise_server_exceptions=False).get("/probe")

    assert response.status_code == 422
    assert response.json()["code"] == "validation"


def test_a_cursor_of_a_unicode_digit_is_refused_not_a_500(client: TestClient) -> None:
    """"²" is a digit to str.isdigit, not to int(): a position made of one is refused."""
    cursor = base64.urlsafe_b64encode("audit|²".encode()).decode().rstrip("=")

    answers = [client.get(path, headers=auth("root"), params={"cursor": cursor})
               for path in ("/audit", "/events")]

    assert [a.status_code for a in answers] == [422, 422]
