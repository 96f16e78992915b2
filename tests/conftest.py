"""Stores for every test that needs one: memory, SQLite and real PostgreSQL.

PostgreSQL tests get a schema of their own in the `test` database (dropped
afterwards). Without a reachable server they skip, except under CI=true, where
they fail: CI must never pass by skipping the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import logging

import psycopg
import pytest

from ledger.logging import configure_logging

# Tests assert on behaviour, not on log lines; keep the output readable.
configure_logging("json", level=logging.WARNING)

PG_HOST = os.environ.get("LEDGER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("LEDGER_TEST_PG_PORT", "5432")
PG_DB = os.environ.get("LEDGER_TEST_PG_DB", "test")
PG_USER = os.environ.get("LEDGER_TEST_PG_USER", "postgres")
PG_DSN = f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user={PG_USER} connect_timeout=3"


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
