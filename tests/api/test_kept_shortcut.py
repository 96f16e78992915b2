"""A request asked again is answered before routing from the kept answer (api/shortcut.py):
the same bytes and headers as the route's, the same role checks, never for as-of or
read-your-writes, and a newer answer once the projections moved on."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.shortcut import KeptQuestions
from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head, ok


@pytest.fixture
def found(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each request was answered by the shortcut (a question was found)."""
    seen: list[bool] = []
    find = KeptQuestions.find

    def spy(self: KeptQuestions, scope: Any) -> Any:
        question = find(self, scope)
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] != "/health":
            seen.append(question is not None)
        return question

    monkeypatch.setattr(KeptQuestions, "find", spy)
    return seen


def test_the_same_question_again_gets_the_same_bytes_without_the_route(
        client: TestClient, found: list[bool]) -> None:
    setup = funded(client)
    path = f"/phases/{setup.phase_id}/totals"
    ok(client.get(path, headers=auth("ida"), params={"min_position": head(client)}))
    found.clear()

    first = client.get(path, headers=auth("ida"))
    again = client.get(path, headers=auth("ida"))
    other_user = client.get(path, headers=auth("fritz"))

    assert again.status_code == first.status_code == 200, (first.text, again.text)
    assert found == [False, True, False]  # the route notes the question; roles differ
    assert again.content == first.content == other_user.content
    assert {k: v for k, v in again.headers.items() if k != "x-request-id"} == {
        k: v for k, v in first.headers.items() if k != "x-request-id"}


def test_roles_as_of_and_min_position_always_take_the_route(
        client: TestClient, found: list[bool]) -> None:
    setup = funded(client)
    accounts = f"/programmes/{setup.programme_id}/accounts"
    ok(client.get(accounts, headers=auth("ida"), params={"min_position": head(client)}))
    ok(client.get(accounts, headers=auth("ida")))
    position = head(client)
    found.clear()

    refused = client.get(accounts, headers=auth("clara"))  # a clerk may not see accounts
    then = client.get(accounts, headers=auth("ida"), params={"as_of_position": position})
    own = client.get(accounts, headers=auth("ida"), params={"min_position": position})
    wrong = client.get(accounts, headers=auth("ida"), params={"limt": 5})

    assert refused.status_code == 403
    assert then.status_code == own.status_code == 200 and wrong.status_code == 422
    assert not any(found)


def test_a_newer_answer_follows_the_projections(client: TestClient) -> None:
    setup = funded(client)
    path = f"/phases/{setup.phase_id}/totals"
    ok(client.get(path, headers=auth("ida"), params={"min_position": head(client)}))
    before = ok(client.get(path, headers=auth("ida")))
    ok(client.get(path, headers=auth("ida")))

    approved(client, setup)
    ok(client.get(path, headers=auth("ida"), params={"min_position": head(client)}))
    after = ok(client.get(path, headers=auth("ida")))

    assert before["awarded"] == "0.00" and after["awarded"] != "0.00"
    assert after["position"] > before["position"]
