"""Stores for every test that needs one: memory, SQLite and real PostgreSQL.

PostgreSQL tests get a schema of their own in the `test` database (dropped
afterwards). Without a reachable server they skip, except under CI=true, where
they fail: CI must never pass by skipping the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.core import LedgerCore
from ledger.logging import configure_logging

# Tests assert on behaviour, not on log lines; keep the output readable.
configure_logging("json", level=logging.WARNING)

PG_HOST = os.environ.get("LEDGER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("LEDGER_TEST_PG_PORT", "5432")
PG_DB = os.environ.get("LEDGER_TEST_PG_DB", "test")
PG_USER = os.environ.get("LEDGER_TEST_PG_USER", "postgres")
PG_DSN = f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user={PG_USER} connect_timeout=3"


@pytest.fixture(autouse=True)
def _close_forgotten_ledgers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Closes every Ledger a test built and left open (its connection pools would stay
    open until garbage collection, and two xdist workers running such tests can use
    up PostgreSQL's 100 connections). Closing twice is harmless."""
    built: list[LedgerCore] = []
    original = LedgerCore.__init__

    def remember(self: LedgerCore, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(LedgerCore, "__init__", remember)
    yield
    for ledger in built:
        with contextlib.suppress(Exception):
            ledger.close()


def _postgres_or_skip() -> None:
    try:
        with psycopg.connect(PG_DSN):
            pass
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database, as a LEDGER_DATABASE_URL."""
    _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}?schema={schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over every store."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_database_url(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over the SQL stores (projections live in tables)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))
