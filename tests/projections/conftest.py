"""Fixtures shared by the read-side tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Settings, build_ledger
from projections import build_read_models
from tests.projections.helpers import Models


@pytest.fixture
def models(sql_database_url: str) -> Iterator[Models]:
    """A ledger, read models without kept answers, and read models with them (the API's)."""
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    plain = build_read_models(settings, ledger)
    kept = build_read_models(settings, ledger, keep_answers=True)
    try:
        yield ledger, plain, kept
    finally:
        kept.close()
        plain.close()
        ledger.close()


@pytest.fixture
def bulks(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """What each `parallel.bulk_in_processes` call returned (None: it did not apply, the
    replay ran in the caller's process), with processes from any log size on."""
    from projections import parallel

    returned: list[int | None] = []
    real_bulk = parallel.bulk_in_processes

    def noted(*args: object, **kwargs: object) -> int | None:
        returned.append(real_bulk(*args, **kwargs))  # type: ignore[arg-type]
        return returned[-1]

    monkeypatch.setattr(parallel, "bulk_in_processes", noted)
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    return returned
