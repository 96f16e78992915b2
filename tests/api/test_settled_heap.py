"""`ledger serve` takes what it built at start out of the garbage collector's sight
(ledger.heap.settle_heap): full collections over a million start-up objects were the p99 of
HTTP commands. Apps built for tests leave the collector alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ledger import Settings
from tests.api.conftest import auth


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_served_app_freezes_its_start_up_heap(collector: None, keys_file: Path) -> None:
    settings = Settings(database_url="memory://", api_keys_file=keys_file)
    plain = TestClient(create_app(settings, keep_integrity=False))
    with plain:
        assert gc.get_freeze_count() == 0

    with TestClient(create_app(settings, keep_integrity=False, settle=True)) as served:
        frozen = gc.get_freeze_count()
        assert served.get("/health").status_code == 200

    assert frozen > 10_000  # the modules, routes and models built at start
    assert gc.get_threshold() == (7000, 20, 20)


def test_a_served_app_builds_its_route_facts_and_openapi_document_before_serving(
        collector: None, keys_file: Path) -> None:
    """Built by the first requests instead, they held the event loop ~0.5 s while every
    other request of the worker waited (the OpenAPI document, which the shortcut's
    templates read, ~0.4 s of it)."""
    settings = Settings(database_url="memory://", api_keys_file=keys_file)
    plain = create_app(settings, keep_integrity=False)
    with TestClient(plain):
        assert plain.openapi_schema is None
        assert getattr(plain.state, "route_facts", None) is None

    served = create_app(settings, keep_integrity=False, settle=True)
    with TestClient(served) as client:
        document, facts = served.openapi_schema, served.state.route_facts
        answered = client.get("/applications?status=approved", headers=auth("ida"))
        assert served.openapi_schema is document and served.state.route_facts is facts

    assert document is not None and "/phases/{phase_id}/totals" in document["paths"]
    assert answered.status_code == 200  # (the facts answer for the query check)
    assert len(facts) >= len(document["paths"])  # an operation's facts for every path
