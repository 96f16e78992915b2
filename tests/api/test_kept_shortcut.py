"""A request asked again is answered before routing (api/shortcut.py): the same bytes and
headers as the route's, the same role checks, a newer answer once the projections moved
on; as of another position or business date too, with any value the route would judge
otherwise (a padded number, a date that does not exist, a position not reached, an
escaped name, a phase that did not exist yet) left to the route; never for `as_of` or
read-your-writes."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Path
from fastapi.testclient import TestClient

from api.schemas.common import IDENTIFIER_PATTERN
from api.shortcut import KeptQuestions, template_of
from ledger.keeper import IntegrityKeeper
from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head, ok

Identifier = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]


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


def _headers(response: Any) -> dict[str, str]:
    """The answer's headers but its request id (every request has its own)."""
    return {k: v for k, v in response.headers.items() if k != "x-request-id"}


def _noted(client: TestClient, found: list[bool], path: str) -> None:
    """`path` asked once the projections reached the head, then again (so the route notes
    its question); `found` cleared."""
    ok(client.get(path, headers=auth("ida"), params={"min_position": head(client)}))
    ok(client.get(path, headers=auth("ida")))
    found.clear()


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
    assert _headers(again) == _headers(first)


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


def _as_of_questions_noted(client: TestClient, found: list[bool]) -> tuple[str, int, int]:
    """A phase's totals path, the position before its first approval and the one after;
    the route has answered it as of the first, with and without a business date (so both
    shapes are noted), and `found` is cleared."""
    setup = funded(client)
    before = head(client)
    approved(client, setup)
    after = head(client)
    path = f"/phases/{setup.phase_id}/totals"
    ok(client.get(path, headers=auth("ida"), params={"min_position": after}))
    ok(client.get(path, headers=auth("ida"), params={"as_of_position": before}))
    ok(client.get(path, headers=auth("ida"),
                  params={"as_of_position": before, "effective_on": "2020-01-31"}))
    found.clear()
    return path, before, after


def test_as_of_another_position_or_day_takes_the_shortcut_with_the_routes_answer(
        client: TestClient, found: list[bool]) -> None:
    path, _, after = _as_of_questions_noted(client, found)

    then = client.get(path, headers=auth("ida"), params={"as_of_position": after})
    dated = client.get(path, headers=auth("ida"),
                       params={"as_of_position": after, "effective_on": "2020-12-31"})
    # the same questions by the route: another Accept header is another key
    route = auth("ida", Accept="application/json")
    by_route = client.get(path, headers=route, params={"as_of_position": after})
    dated_by_route = client.get(path, headers=route, params={
        "as_of_position": after, "effective_on": "2020-12-31"})

    assert found == [True, True, False, False]
    assert then.content == by_route.content and dated.content == dated_by_route.content
    assert ok(then)["position"] == after and ok(then)["awarded"] == "50000.00"
    assert ok(dated)["effective_on"] == "2020-12-31"
    assert _headers(then) == _headers(by_route)


def test_values_only_the_route_can_judge_take_the_route(
        client: TestClient, found: list[bool]) -> None:
    path, first, now = _as_of_questions_noted(client, found)

    padded = client.get(f"{path}?as_of_position=0{now}", headers=auth("ida"))
    no_day = client.get(path, headers=auth("ida"),
                        params={"as_of_position": now, "effective_on": "2020-02-30"})
    too_far = client.get(path, headers=auth("ida"), params={"as_of_position": 2**62 + 1})
    beyond = client.get(path, headers=auth("ida"), params={"as_of_position": now + 10**6})
    escaped = client.get(f"{path}?as%5Fof_position={first}", headers=auth("ida"))
    before_it = client.get(path, headers=auth("ida"), params={"as_of_position": 1})

    # found, then refused by the shortcut: a position not reached yet (the route refuses
    # one beyond the log's head), and a question the read models refuse
    assert found == [False, False, False, True, False, True]
    assert ok(padded)["position"] == now and ok(escaped)["position"] == first
    assert no_day.status_code == too_far.status_code == 422, (no_day.text, too_far.text)
    assert beyond.status_code == 422 and "beyond the log's head" in beyond.text
    # the phase did not exist at 1: the read models refuse, the route answers the problem
    assert before_it.status_code == 404, before_it.text
    assert before_it.headers["content-type"] == "application/problem+json"


def test_another_id_of_a_noted_shape_takes_the_shortcut_with_the_routes_answer(
        client: TestClient, found: list[bool]) -> None:
    setup = funded(client)
    first, second = approved(client, setup, 0), approved(client, setup, 1)
    _noted(client, found, f"/applications/{first}")

    other = client.get(f"/applications/{second}", headers=auth("ida"))
    by_route = client.get(f"/applications/{second}",
                          headers=auth("ida", Accept="application/json"))
    clerk = client.get(f"/applications/{second}", headers=auth("clara"))  # other roles

    assert found == [True, False, False]
    assert ok(other)["application_id"] == second != first
    assert other.content == by_route.content == clerk.content
    assert _headers(other) == _headers(by_route)


def test_an_id_only_the_route_can_judge_takes_the_route(
        client: TestClient, found: list[bool]) -> None:
    setup = funded(client)
    known = approved(client, setup)
    _noted(client, found, f"/applications/{known}")

    unknown = client.get("/applications/no-such-application", headers=auth("ida"))
    dashed = client.get("/applications/-no-such-application", headers=auth("ida"))
    too_long = client.get(f"/applications/{'a' * 65}", headers=auth("ida"))
    history = client.get(f"/applications/{known}/history", headers=auth("ida"))

    # found, then refused by the read models: the route answers the problem
    assert found == [True, False, False, False]
    assert unknown.status_code == 404, unknown.text
    assert unknown.headers["content-type"] == "application/problem+json"
    assert dashed.status_code == too_long.status_code == 422, (dashed.text, too_long.text)
    assert ok(history)["items"]


def test_a_template_yields_to_every_other_route_its_paths_may_match() -> None:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def thing(thing_id: Identifier) -> str:
        return thing_id

    @app.get("/things/special")
    def special() -> str:
        return "special"

    @app.get("/numbers/{n}")
    def number(n: int) -> int:
        return n

    @app.get("/codes/{code}")
    def code(code: Annotated[str, Path(pattern="^[a-z]+$")]) -> str:
        return code

    routes = {getattr(route, "path", None): route for route in app.routes}
    template = template_of(app, routes["/things/{thing_id}"])

    assert template is not None
    assert template.ids("/things/a-1") == ("a-1",)
    assert template.ids("/things/special") is None  # (whichever FastAPI would pick)
    assert template.ids("/things/-a") is None and template.ids("/things/a\n") is None
    assert template.ids("/things/a/b") is None and template.ids("/numbers/1") is None
    assert template_of(app, routes["/numbers/{n}"]) is None  # not a plain identifier
    assert template_of(app, routes["/codes/{code}"]) is None


def test_the_integrity_keepers_answer_is_sent_before_routing_while_it_is_young(
        client: TestClient, found: list[bool]) -> None:
    setup = funded(client)
    keeper = IntegrityKeeper(client.app.state.ledger, max_age=60)  # type: ignore[attr-defined]  # a FastAPI app
    keeper.step()
    client.app.state.integrity_keeper = keeper  # type: ignore[attr-defined]  # as `ledger serve` sets it
    first = client.get("/integrity", headers=auth("ida"))
    again = client.get("/integrity", headers=auth("ida"))
    clerk = client.get("/integrity", headers=auth("clara"))  # not an auditor: the route refuses
    approved(client, setup)  # links the kept answer has not seen
    kept = client.get("/integrity", headers=auth("ida"))
    keeper.max_age = 0.0  # the kept answer is too old now: the route computes one
    computed = client.get("/integrity", headers=auth("ida"))

    assert found == [False, True, False, True, True]
    assert again.status_code == first.status_code == 200, (first.text, again.text)
    assert again.content == kept.content == first.content
    assert _headers(again) == _headers(first)
    assert clerk.status_code == 403, clerk.text
    assert computed.status_code == 200, computed.text
    assert computed.json()["head_position"] == head(client) > first.json()["head_position"]
