"""Malformed input of every kind: a 4xx problem document, never a 5xx, never an event."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head

MALFORMED_DRAWDOWNS: list[tuple[str, object]] = [
    ("float money", {"amount": 10.5, "requested_on": "2020-05-01"}),
    ("integer money", {"amount": 10, "requested_on": "2020-05-01"}),
    ("three decimals", {"amount": "10.005", "requested_on": "2020-05-01"}),
    ("huge amount", {"amount": "1" * 40, "requested_on": "2020-05-01"}),
    ("fourteen digits", {"amount": "10000000000000.00", "requested_on": "2020-05-01"}),
    ("exponent", {"amount": "1e3", "requested_on": "2020-05-01"}),
    ("nan", {"amount": "NaN", "requested_on": "2020-05-01"}),
    ("negative", {"amount": "-5.00", "requested_on": "2020-05-01"}),
    ("non-ascii digits", {"amount": "١٢", "requested_on": "2020-05-01"}),
    ("unknown field", {"amount": "1.00", "requested_on": "2020-05-01", "amonut": "2"}),
    ("missing field", {"amount": "1.00"}),
    ("date as number", {"amount": "1.00", "requested_on": 20200501}),
    ("bad date", {"amount": "1.00", "requested_on": "2020-13-45"}),
    ("date wrong type", {"amount": "1.00", "requested_on": ["2020-05-01"]}),
    ("array body", [1, 2, 3]),
    ("null body", None),
    ("string body", "amount"),
]


@pytest.mark.parametrize(("name", "body"), MALFORMED_DRAWDOWNS,
                         ids=[n for n, _ in MALFORMED_DRAWDOWNS])
def test_refuses_malformed_bodies_with_422(client: TestClient, name: str, body: object) -> None:
    setup = funded(client)
    application_id = approved(client, setup)
    before = head(client)

    response = client.post(f"/applications/{application_id}/drawdowns",
                           headers=auth("clara"), content=json.dumps(body))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation"
    assert set(problem) >= {"type", "title", "status", "detail", "code"}
    assert head(client) == before


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b"{\"amount\": }", b"", b"[" * 10000])
def test_refuses_broken_json_with_422(memory_client: TestClient, raw: bytes) -> None:
    response = memory_client.post("/programmes", headers=auth("ada"), content=raw)

    assert response.status_code == 422
    assert response.json()["code"] == "validation"


def test_a_body_that_is_not_json_or_not_sent_as_json_is_told_so(
        memory_client: TestClient) -> None:
    trailing = b'{"programme_id": "p1", "name": "a", "funder": "x",}'
    body = b'{"programme_id": "p1", "name": "a", "funder": "x"}'

    broken = memory_client.post("/programmes", content=trailing,
                                headers={**auth("ada"), "Content-Type": "application/json"})
    as_text = memory_client.post("/programmes", content=body,
                                 headers={**auth("ada"), "Content-Type": "text/plain"})

    assert broken.status_code == 422 and as_text.status_code == 422
    assert broken.json()["detail"].startswith(
        f"body: not valid JSON at character {len(trailing) - 1}"), broken.json()
    assert broken.json()["errors"][0]["loc"] == ["body"]
    assert "Content-Type: application/json (not text/plain)" in as_text.json()["detail"]
    assert head(memory_client) == 0


def test_a_body_not_in_utf8_or_nested_too_deeply_is_a_validation_problem(
        memory_client: TestClient) -> None:
    """FastAPI answers these with a plain 400 "error parsing the body"; every other body
    that is not JSON is a 422 `validation` that says what is wrong."""
    latin1 = '{"programme_id": "p1", "name": "Gr\u00fcnde", "funder": "x"}'.encode("latin-1")
    deep = b"[" * 5000 + b"]" * 5000
    json_headers = {**auth("ada"), "Content-Type": "application/json"}

    answers = [memory_client.post("/programmes", content=body, headers=json_headers)
               for body in (latin1, deep, b"\xff\xfe{}")]

    assert [a.status_code for a in answers] == [422, 422, 422], [a.text for a in answers]
    assert {a.json()["code"] for a in answers} == {"validation"}
    assert "byte 34 (0xfc) is not UTF-8" in answers[0].json()["detail"]
    assert answers[1].json()["detail"] == "body: not valid JSON: nested too deeply"
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    assert head(memory_client) == 0


def test_an_error_names_the_field_as_the_client_wrote_it(memory_client: TestClient) -> None:
    """One recipient or many: which shape of the body was read is no field (pydantic put
    its tag in the location: body.one.recipient_id)."""
    one = memory_client.post("/recipients", headers=auth("ada"), json={
        "recipient_id": "x y", "name": "a", "kind": "stadt"})
    many = memory_client.post("/recipients", headers=auth("ada"), json={
        "recipients": [{"recipient_id": "x y", "name": "a", "kind": "stadt"}]})

    assert (one.status_code, many.status_code) == (422, 422)
    assert one.json()["errors"][0]["loc"] == ["body", "recipient_id"]
    assert one.json()["detail"].startswith("body.recipient_id: ")
    assert many.json()["errors"][0]["loc"] == ["body", "recipients", "0", "recipient_id"]


def test_refuses_lone_surrogates_and_control_characters(memory_client: TestClient) -> None:
    surrogate = b'{"programme_id": "p1", "name": "\\ud800", "funder": "x"}'
    control = b'{"programme_id": "p1", "name": "a\\u0000b", "funder": "x"}'

    responses = [memory_client.post("/programmes", headers=auth("ada"), content=raw)
                 for raw in (surrogate, control)]

    assert [r.status_code for r in responses] == [422, 422]
    assert head(memory_client) == 0


def test_refuses_oversized_body_by_content_length(memory_client: TestClient) -> None:
    body = b'{"programme_id": "p1", "name": "' + b"x" * (2 * 1024 * 1024) + b'", "funder": "x"}'

    response = memory_client.post("/programmes", headers=auth("ada"), content=body)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response.headers["content-type"] == "application/problem+json"
    assert head(memory_client) == 0


def test_refuses_a_key_named_twice_in_a_body(memory_client: TestClient) -> None:
    """The JSON parser would keep the last of two values silently (SPEC: nothing passes
    silently): a key twice, at the top or nested, is a 422 that names it; a key named in
    two different objects is fine; without a key it is still a 401 first."""
    twice = b'{"programme_id": "p1", "name": "a", "name": "b", "funder": "x"}'
    nested = (b'{"programme_id": "p2", "name": "a", "funder": "x", '
              b'"extra": {"k": 1, "k": 2}}')
    apart = b'{"programme_id": "p3", "name": "a", "funder": "x"}'

    json_body = {"content-type": "application/json"}
    answers = [memory_client.post("/programmes", headers=auth("ada", **json_body), content=raw)
               for raw in (twice, nested)]
    anonymous = memory_client.post("/programmes", content=twice, headers=json_body)
    fine = memory_client.post("/programmes", headers=auth("ada", **json_body), content=apart)

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(422, "validation")] * 2
    assert "'name' appears twice" in answers[0].json()["detail"]
    assert "'k' appears twice" in answers[1].json()["detail"]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert anonymous.status_code == 401
    assert fine.status_code == 201, fine.text
    assert head(memory_client) == fine.json()["position"]


def test_refuses_oversized_streamed_body(memory_client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"programme_id": "p1", "name": "'
        for _ in range(33):
            yield b"x" * 65536
        yield b'", "funder": "x"}'

    response = memory_client.post("/programmes", headers=auth("ada"), content=chunks())

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert head(memory_client) == 0


def test_unknown_route_and_method_are_problems(memory_client: TestClient) -> None:
    missing = memory_client.get("/nowhere")
    # Authentication comes first: a method that may carry a body needs a key to get a 405.
    wrong_method = memory_client.delete("/programmes", headers=auth("ada"))

    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    assert missing.headers["content-type"] == "application/problem+json"


def test_a_405_allows_every_method_of_the_path(memory_client: TestClient) -> None:
    """RFC 9110 §15.5.6: `Allow` lists the methods the resource has, not only those of
    the first route its path matched (Starlette's: `POST` for /programmes)."""
    answers = {path: memory_client.request(method, path, headers=auth("ada"))
               for method, path in (("DELETE", "/programmes"), ("PUT", "/whoami"),
                                    ("GET", "/applications/x1/approve"),
                                    ("PATCH", "/programmes/p1"))}

    assert {path: (a.status_code, a.headers.get("allow")) for path, a in answers.items()} == {
        "/programmes": (405, "GET, HEAD, POST"),
        "/whoami": (405, "GET, HEAD"),
        "/applications/x1/approve": (405, "POST"),
        "/programmes/p1": (405, "GET, HEAD"),
    }
    for answer in answers.values():
        allowed = answer.headers["allow"].split(", ")
        path = str(answer.request.url.path)
        assert all(memory_client.request(m, path, headers=auth("ada")).status_code != 405
                   for m in allowed)


def test_query_parameters_are_validated(memory_client: TestClient) -> None:
    responses = [
        memory_client.get("/applications?limit=0", headers=auth("ida")),
        memory_client.get("/applications?limit=99999", headers=auth("ida")),
        memory_client.get("/applications?as_of_position=-1", headers=auth("ida")),
        memory_client.get(f"/applications?as_of_position={10**30}", headers=auth("ida")),
        memory_client.get("/applications?as_of=yesterday", headers=auth("ida")),
        memory_client.get("/applications?status=lost", headers=auth("ida")),
        memory_client.get("/events?after=abc", headers=auth("ida")),
    ]

    assert [r.status_code for r in responses] == [422] * len(responses)
    assert {r.json()["code"] for r in responses} == {"validation"}


def test_bad_idempotency_key_header_is_refused(memory_client: TestClient) -> None:
    response = memory_client.post("/programmes", headers=auth("ada", **{
        "Idempotency-Key": "x" * 201}), json={"programme_id": "p1", "name": "n", "funder": "f"})

    assert response.status_code == 422
    assert head(memory_client) == 0


@pytest.mark.parametrize("error", ["eventsourcing", "psycopg", "sqlite3"])
def test_an_unreachable_store_is_503_not_500(keys_file, error: str) -> None:
    import sqlite3

    import psycopg
    from eventsourcing.persistence import OperationalError

    from api.main import create_app
    from ledger import Settings

    raised = {"eventsourcing": OperationalError("connection refused"),
              "psycopg": psycopg.OperationalError("server closed the connection"),
              "sqlite3": sqlite3.OperationalError("database is locked")}[error]
    app = create_app(Settings(database_url="memory://", api_keys_file=keys_file))

    @app.get("/test-store-down")
    def store_down() -> None:
        raise raised

    with TestClient(app) as client:
        response = client.get("/test-store-down")

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert response.headers["retry-after"] == "5"


def test_a_bad_row_of_many_recipients_is_named_alone(memory_client: TestClient) -> None:
    """A body with `recipients` is the bulk shape: its error names the bad row's field,
    not the single-recipient shape's complaints about the same body; a single recipient's
    error names its own field only."""
    many = {"recipients": [
        {"recipient_id": "06411000", "name": "Darmstadt", "kind": "kreisfreie_stadt"},
        {"recipient_id": "06412000", "name": "Frankfurt", "kind": "weird"}]}
    one = {"recipient_id": "06411000", "name": "Darmstadt"}

    bulk = memory_client.post("/recipients", headers=auth("ada"), json=many)
    single = memory_client.post("/recipients", headers=auth("ada"), json=one)

    assert (bulk.status_code, bulk.json()["code"]) == (422, "validation")
    assert "recipients.1.kind" in bulk.json()["detail"]
    assert "RecipientCreate" not in bulk.json()["detail"]
    assert "recipient_id: Field required" not in bulk.json()["detail"]
    assert (single.status_code, single.json()["code"]) == (422, "validation")
    assert "kind" in single.json()["detail"] and "recipients" not in single.json()["detail"]
    assert head(memory_client) == 0
