from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger, Settings, build_ledger


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    app = build_ledger(Settings(database_url=database_url))
    yield app
    app.close()


@pytest.fixture
def two(postgres_url: str) -> Iterator[tuple[Ledger, Ledger]]:
    """Two processes' ledgers on one PostgreSQL database (each with its own recorder and
    pool): one writes while the other watches, saves or bets on the head."""
    a, b = (build_ledger(Settings(database_url=postgres_url)) for _ in range(2))
    yield a, b
    a.close()
    b.close()
