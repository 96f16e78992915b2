from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger, Settings, build_ledger


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    app = build_ledger(Settings(database_url=database_url))
    yield app
    app.close()
