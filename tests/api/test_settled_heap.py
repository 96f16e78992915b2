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
