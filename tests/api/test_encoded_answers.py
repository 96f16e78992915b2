"""Kept answers are sent as bytes encoded once, and those bytes are what FastAPI's own
response_model path sends for the same answer (api/answers.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api.schemas.applications import ApplicationPublic
from api.schemas.common import Page
from api.schemas.phases import PhaseTotals
from api.schemas.programmes import AccountsPublic, ReconciliationPublic
from projections.answers import Kept
from tests.api.conftest import auth
from tests.api.scenario import approved, funded, head, ok


def _as_fastapi_sends(model: Any, document: dict[str, Any]) -> Any:
    adapter = TypeAdapter(model)
    return adapter.dump_python(adapter.validate_python(document), mode="json", by_alias=True)


def test_kept_answers_are_what_the_response_model_makes_of_them(client: TestClient):
    setup = funded(client)
    application_id = approved(client, setup)
    ok(client.get(f"/phases/{setup.phase_id}/totals?min_position={head(client)}",
                  headers=auth("ida")))
    read = client.app.state.read_models  # type: ignore[attr-defined]
    asked = [
        (f"/phases/{setup.phase_id}/totals", PhaseTotals,
         lambda: read.phase_totals(setup.phase_id, at=None, effective_on=None)),
        (f"/programmes/{setup.programme_id}/reconciliation/2020", ReconciliationPublic,
         lambda: read.reconciliation(setup.programme_id, 2020, at=None, effective_on=None)),
        (f"/programmes/{setup.programme_id}/accounts", AccountsPublic,
         lambda: read.accounts(setup.programme_id, at=None, cursor=None, limit=100,
                               effective_on=None)),
        (f"/applications/{application_id}", ApplicationPublic,
         lambda: read.application(application_id, at=None, effective_on=None)),
        (f"/phases/{setup.phase_id}/totals/awarded/entries", Page,
         lambda: read.phase_entries(setup.phase_id, "awarded", cursor=None, limit=100,
                                    at=None, effective_on=None)),
    ]

    for path, model, query in asked:
        first = client.get(path, headers=auth("fritz"))
        again = client.get(path, headers=auth("fritz"))
        document = query()

        assert first.status_code == again.status_code == 200, first.text
        assert first.headers["content-type"] == "application/json"
        assert isinstance(document, Kept), path
        assert again.content == first.content
        assert first.json() == _as_fastapi_sends(model, document), path
        assert first.content in document.encodings.values(), path  # encoded once, kept


def test_an_answer_as_of_a_position_is_encoded_like_a_kept_one(client: TestClient):
    setup = funded(client)
    approved(client, setup)
    position = head(client)
    now = ok(client.get(f"/phases/{setup.phase_id}/totals?min_position={position}",
                        headers=auth("ida")))

    then = ok(client.get(f"/phases/{setup.phase_id}/totals?as_of_position={position}",
                         headers=auth("ida")))

    assert then == {**now, "position": then["position"]}
    assert then["awarded"] == "50000.00"
