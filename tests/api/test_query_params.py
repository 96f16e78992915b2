"""Unknown query parameters are refused with `validation` on every GET (SPEC §4)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.routes import by_served_route
from tests.api.conftest import auth


def _get_paths(client: TestClient) -> list[str]:
    document = client.get("/openapi.json").json()
    return [path for path, item in document["paths"].items() if "get" in item]


def _filled(path: str) -> str:
    """Any value for a path parameter: the refusal comes before the look-up."""
    return re.sub(r"\{year\}", "2020", re.sub(r"\{(?!year)[^}]+\}", "x1", path))


def test_every_get_refuses_an_unknown_query_parameter(memory_client: TestClient) -> None:
    paths = _get_paths(memory_client)

    answers = {path: memory_client.get(_filled(path), params={"bogus": "1"},
                                       headers=auth("root")) for path in paths}

    assert len(paths) > 10
    for path, answer in answers.items():
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), path
        assert answer.json()["code"] == "validation", path
        assert "bogus" in answer.json()["detail"], path


def test_a_misspelt_filter_is_named_with_the_accepted_ones(memory_client: TestClient) -> None:
    answer = memory_client.get("/applications?refrence=X", headers=auth("ida"))

    assert answer.status_code == 422
    assert "refrence" in answer.json()["detail"]
    assert "phase_id" in answer.json()["detail"]


def test_known_query_parameters_still_pass(memory_client: TestClient) -> None:
    answer = memory_client.get("/applications?limit=5&status=approved", headers=auth("ida"))

    assert answer.status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key-0123456789"}])
def test_a_caller_without_a_valid_key_gets_401_first(
    memory_client: TestClient, headers: dict[str, str]
) -> None:
    answer = memory_client.get("/applications?bogus=1", headers=headers)

    assert answer.status_code == 401


def test_commands_refuse_unknown_query_parameters_too(memory_client: TestClient) -> None:
    answer = memory_client.post("/programmes?dry_run=1", headers=auth("ada"),
                                json={"programme_id": "p-q", "name": "P", "funder": "F"})

    assert answer.status_code == 422
    assert memory_client.get("/programmes/p-q", headers=auth("ida")).status_code == 404


def test_a_parameter_of_one_value_given_twice_is_refused(memory_client: TestClient) -> None:
    """FastAPI keeps the last of two `phase_id`s and lists that phase alone: silently one
    of two filters. A parameter that takes a list (the stream's `event_type`) repeats."""
    twice = memory_client.get("/applications?phase_id=h1-1&phase_id=s1-1",
                              headers=auth("ida"))
    dated_twice = memory_client.get("/applications?as_of_position=1&as_of_position=2",
                                    headers=auth("ida"))
    once = memory_client.get("/applications?phase_id=h1-1", headers=auth("ida"))

    for answer in (twice, dated_twice):
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation"
        assert "given more than once" in answer.json()["detail"]
    assert "phase_id" in twice.json()["detail"]
    assert once.status_code == 200
    facts = by_served_route(memory_client.app.routes)  # type: ignore[attr-defined]
    assert any({"event_type", "entity_id"} <= f.repeatable for f in facts.values())
    assert not any("phase_id" in f.repeatable for f in facts.values())
