"""Authentication (401) and every endpoint's role rule (403), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth

ANY = ("admin", "clerk", "approver", "finance", "auditor")
USER_OF_ROLE = {"admin": "ada", "clerk": "clara", "approver": "anna", "finance": "fritz",
                "auditor": "ida"}
A = "/applications/0f8fad5b-d9cb-469f-a165-70867728950e"

ENDPOINTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("POST", "/programmes", ("admin",)),
    ("POST", "/programmes/p/budgets", ("admin", "finance")),
    ("POST", "/programmes/p/budgets/2020/amend", ("finance",)),
    ("POST", "/programmes/p/budgets/2020/expenditures", ("finance",)),
    ("POST", "/programmes/p/budgets/2020/close", ("finance",)),
    ("POST", "/programmes/p/phases", ("admin",)),
    ("POST", "/recipients", ("admin",)),
    ("POST", "/applications", ("clerk",)),
    ("POST", f"{A}/amend", ("clerk",)),
    ("POST", f"{A}/withdraw", ("clerk",)),
    ("POST", f"{A}/approve", ("approver",)),
    ("POST", f"{A}/reject", ("approver",)),
    ("POST", f"{A}/award-amendments", ("approver",)),
    ("POST", f"{A}/drawdowns", ("clerk",)),
    ("POST", f"{A}/drawdowns/D1/pay", ("finance",)),
    ("POST", f"{A}/drawdowns/D1/cancel", ("clerk", "finance")),
    ("POST", f"{A}/repayments", ("finance",)),
    ("POST", f"{A}/proof-of-use", ("clerk",)),
    ("POST", f"{A}/close", ("approver",)),
    ("POST", f"{A}/revoke", ("approver",)),
    ("GET", "/programmes/p", ANY),
    ("GET", "/phases/x", ANY),
    ("GET", "/recipients/r", ANY),
    ("GET", A, ANY),
    ("GET", "/applications", ANY),
    ("GET", f"{A}/history", ANY),
    ("GET", "/phases/x/totals", ANY),
    ("GET", "/phases/x/totals/paid/entries", ANY),
    ("GET", "/programmes/p/reconciliation/2020", ANY),
    ("GET", "/programmes/p/reconciliation/2020/committed/entries", ANY),
    ("GET", "/programmes/p/accounts", ("finance", "auditor")),
    ("GET", "/recipients/r/statement", ANY),
    ("GET", "/audit", ("auditor", "finance")),
    ("GET", "/events", ("auditor",)),
    ("GET", "/integrity", ("auditor",)),
    ("GET", "/whoami", ANY),
]


@pytest.mark.parametrize(("method", "path", "roles"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_role_rules(client: TestClient, method: str, path: str, roles: tuple[str, ...]) -> None:
    body = {} if method == "POST" else None

    no_key = client.request(method, path, json=body)
    bad_key = client.request(method, path, json=body,
                             headers={"Authorization": "Bearer not-a-key-at-all"})
    by_role = {role: client.request(method, path, json=body, headers=auth(user))
               for role, user in USER_OF_ROLE.items()}

    for refused in (no_key, bad_key):
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
        assert refused.headers["content-type"] == "application/problem+json"
    for role, response in by_role.items():
        if role in roles:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["code"] == "forbidden"


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_whoami_answers_the_callers_user_and_roles(client: TestClient) -> None:
    auditor = client.get("/whoami", headers=auth("ida"))
    root = client.get("/whoami", headers=auth("root"))
    anonymous = client.get("/whoami")

    assert auditor.status_code == 200 and auditor.json() == {"user": "ida", "roles": ["auditor"]}
    assert root.json()["roles"] == ["admin", "approver", "auditor", "clerk", "finance"]
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


def test_openapi_and_docs_are_public(memory_client: TestClient) -> None:
    schema = memory_client.get("/openapi.json").json()
    docs = memory_client.get("/docs")

    assert docs.status_code == 200
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert "ApplicationCreate" in schema["components"]["schemas"]
    assert "ApplicationPublic" in schema["components"]["schemas"]
    paths = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    for method, path, _ in ENDPOINTS:
        templated = next((p for m, p in paths if m == method and _matches(p, path)), None)
        assert templated, (method, path)


def _matches(template: str, path: str) -> bool:
    t, p = template.strip("/").split("/"), path.strip("/").split("/")
    return len(t) == len(p) and all(a == b or a.startswith("{") for a, b in zip(t, p))


def test_keys_file_that_is_invalid_fails_fast(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from api.auth import ApiKeys

    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"key": "short", "user": "x", "roles": ["god"]}]}')

    with pytest.raises(ValueError, match="LEDGER_API_KEYS_FILE"):
        ApiKeys.load(path)


def test_keys_file_with_a_key_twice_fails_fast(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from api.auth import ApiKeys

    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"key": "same-key-0123456789", "user": "ida", "roles": ["auditor"]},'
                    ' {"key": "same-key-0123456789", "user": "ada", "roles": ["admin"]}]}')

    with pytest.raises(ValueError, match="same key string") as refused:
        ApiKeys.load(path)
    assert "same-key-0123456789" not in str(refused.value).replace(str(path), "")


@pytest.mark.parametrize("raw", [b"{", b"{\"programme_id\": ", b"\xff", b"[]", b"{}"])
def test_authenticates_before_reading_the_body(client: TestClient, raw: bytes) -> None:
    anonymous = client.post("/programmes", content=raw,
                            headers={"Content-Type": "application/json"})
    unknown = client.post("/programmes", content=raw,
                          headers={"Authorization": "Bearer not-a-key-at-all"})

    for response in (anonymous, unknown):
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_refuses_two_authorization_headers(client: TestClient) -> None:
    for second in (auth("ada")["Authorization"], "Bearer not-a-key-at-all"):
        headers = [("Authorization", auth("ada")["Authorization"]), ("Authorization", second)]

        post = client.post("/programmes", headers=headers,
                           json={"programme_id": "p2", "name": "n", "funder": "f"})
        get = client.get("/whoami", headers=headers)

        for response in (post, get):
            assert response.status_code == 401, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert "exactly one" in response.json()["detail"]
