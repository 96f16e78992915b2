"""The API documents itself without the internet: /docs from local assets, and an OpenAPI
document where every operation names its roles and its problem+json answers."""

from __future__ import annotations

import re

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head, ok

ERROR_STATUSES = {"401", "403", "404", "409", "413", "422", "503"}


@pytest.fixture
def operations(memory_client: TestClient) -> list[tuple[str, str, dict]]:
    document = memory_client.get("/openapi.json").json()
    return [(method.upper(), path, operation)
            for path, item in document["paths"].items() for method, operation in item.items()]


def test_root_redirects_to_the_docs(memory_client: TestClient) -> None:
    answer = memory_client.get("/", follow_redirects=False)

    assert answer.status_code in (302, 307)
    assert answer.headers["location"] == "/docs"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_every_asset_from_the_server_itself(
    memory_client: TestClient, page: str
) -> None:
    html = memory_client.get(page)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    fetched = {url: memory_client.get(url).status_code for url in assets}

    assert html.status_code == 200
    assert not re.search(r"https?://", html.text), "the page names an external URL"
    assert any(url.endswith(".js") for url in assets)
    assert fetched == dict.fromkeys(assets, 200)


def test_every_operation_has_a_summary_and_a_description_naming_its_roles(
    operations: list[tuple[str, str, dict]],
) -> None:
    missing = [f"{method} {path}" for method, path, operation in operations
               if not operation.get("summary") or "**Roles:**" not in
               operation.get("description", "")]

    assert operations
    assert missing == []


@pytest.mark.parametrize(("method", "path", "roles"), [
    ("POST", "/applications/{application_id}/approve", "**Roles:** approver"),
    ("POST", "/applications/{application_id}/drawdowns/{did}/cancel", "**Roles:** clerk, finance"),
    ("GET", "/programmes/{pid}/accounts", "**Roles:** finance, auditor"),
    ("GET", "/phases/{phase_id}/totals", "**Roles:** any role"),
    ("GET", "/health", "**Roles:** none"),
])
def test_roles_come_from_the_operations_own_dependency(
    operations: list[tuple[str, str, dict]], method: str, path: str, roles: str
) -> None:
    (operation,) = [o for m, p, o in operations if (m, p) == (method, path)]

    assert roles in operation["description"]


def test_every_operation_documents_its_problem_answers(
    operations: list[tuple[str, str, dict]],
) -> None:
    for method, path, operation in operations:
        responses = operation["responses"]
        expected = {"422"}
        if path not in ("/health", "/metrics"):  # the two public ones (SPEC §6)
            expected.add("401")
        if "{" in path:
            expected.add("404")
        if method == "POST":
            expected |= {"403", "409", "413"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in ERROR_STATUSES & set(responses) - ({"503"} if path == "/health" else set()):
            content = responses[status]["content"]["application/problem+json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert content["example"]["status"] == int(status)
            assert content["example"]["code"]


def test_every_field_an_answer_carries_is_documented_with_its_type(client: TestClient) -> None:
    """The OpenAPI document names every top-level field of the answers (it left out a
    dozen: `requested_by_category`, a drill-down's `total`, an application's dates …),
    and each answer validates against its schema."""
    setup = funded(client)
    application_id = approved(client, setup)
    ok(client.post(f"/applications/{application_id}/drawdowns", headers=auth("clara"),
                   json={"amount": "10.00", "requested_on": "2020-05-01"}), 201)
    document = client.get("/openapi.json").json()
    at = {"min_position": head(client)}
    dated = {**at, "effective_on": "2020-12-31"}
    asked = {
        f"/programmes/{setup.programme_id}": ("/programmes/{pid}", at),
        f"/phases/{setup.phase_id}/totals": ("/phases/{phase_id}/totals", dated),
        f"/phases/{setup.phase_id}/totals/awarded/entries": (
            "/phases/{phase_id}/totals/{figure}/entries", dated),
        f"/applications/{application_id}": ("/applications/{application_id}", at),
        f"/programmes/{setup.programme_id}/reconciliation/2020": (
            "/programmes/{pid}/reconciliation/{year}", dated),
        f"/recipients/{setup.recipients[0]}": ("/recipients/{rid}", at),
        f"/recipients/{setup.recipients[0]}/statement": ("/recipients/{rid}/statement", dated),
    }
    undocumented = {}
    for path, (template, params) in asked.items():
        answer = ok(client.get(path, headers=auth("root"), params=params))
        reference = document["paths"][template]["get"]["responses"]["200"]["content"][
            "application/json"]["schema"]
        schema = {**reference, "components": document["components"]}
        jsonschema.validate(answer, schema)
        name = reference["$ref"].rsplit("/", 1)[-1]
        missing = set(answer) - set(document["components"]["schemas"][name]["properties"])
        if missing:
            undocumented[template] = sorted(missing)

    assert undocumented == {}
