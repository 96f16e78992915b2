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


def test_a_served_app_opens_its_seek_pools_and_reads_the_live_versions_before_serving(
        collector: None, keys_file: Path, postgres_url: str) -> None:
    """The first answers as of a position of a new server each waited for a seek pool's
    first connection (11-13 ms on the 110k bench log, against ~1 ms): a served app opens
    both pools, and reads each live version's schema, at start. Their connections prepare
    a statement at its first execution (one plan per connection, not up to six)."""
    settings = Settings(database_url=postgres_url, api_keys_file=keys_file)
    plain = create_app(settings, keep_integrity=False)
    with TestClient(plain):
        db = plain.state.read_models.db
        assert (db._seeks, db._async_seeks) == (None, None)

    served = create_app(settings, keep_integrity=False, settle=True)
    with TestClient(served) as client:
        read_models = served.state.read_models
        db = read_models.db
        opened = db._async_seeks
        assert db._seeks is not None and db._seeks.get_stats()["pool_size"] >= 1
        assert opened is not None and opened.done()
        async_pool = opened.result()
        assert async_pool.get_stats()["pool_size"] >= 1
        with db._seeks.connection() as connection:
            assert connection.prepare_threshold == 0
        with read_models.db.read() as tx:
            live = read_models.runner.live_tags(tx)
        assert {(name, tag) for name, tag in live.items()} <= set(read_models._schemas)
        position = client.get("/health").json()["head"]
        answered = client.get(f"/applications?as_of_position={position}",
                              headers=auth("ida"))
        assert answered.status_code == 200
