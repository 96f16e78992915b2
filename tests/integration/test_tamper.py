"""Tamper evidence: altering, deleting or forging a stored row breaks the chain there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from ledger import Ledger, Settings, build_ledger
from tests.conftest import PG_DSN
from tests.support.scenario import approved, funded_phase, recipients


@pytest.fixture
def pg(postgres_url: str) -> Iterator[tuple[Ledger, str]]:
    ledger = build_ledger(Settings(database_url=postgres_url))
    schema = parse_qs(urlsplit(postgres_url).query)["schema"][0]
    yield ledger, schema
    ledger.close()


def _scenario(ledger: Ledger) -> None:
    f = funded_phase(ledger)
    for rid in recipients(ledger, 3):
        approved(ledger, f, rid, "100.00")


def test_altered_event_row_is_named_by_its_position(pg: tuple[Ledger, str]) -> None:
    ledger, schema = pg
    _scenario(ledger)
    assert ledger.verify_chain().verified
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        target = conn.execute(
            f'SELECT notification_id FROM "{schema}".ledger_events '
            "WHERE topic LIKE %s ORDER BY notification_id LIMIT 1 OFFSET 1",
            ("%Approved",),
        ).fetchone()[0]
        conn.execute(
            f'UPDATE "{schema}".ledger_events SET state = '
            "convert_to(replace(convert_from(state, 'UTF8'), '100.00', '900.00'), 'UTF8') "
            "WHERE notification_id = %s",
            (target,),
        )

    report = build_ledger(Settings(database_url=_url(ledger))).verify_chain()

    assert not report.verified
    assert report.broken_at == target
    assert report.checked == target - 1 or report.checked < target


def test_deleted_event_row_is_detected(pg: tuple[Ledger, str]) -> None:
    ledger, schema = pg
    _scenario(ledger)
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DELETE FROM "{schema}".ledger_events WHERE notification_id = 5')

    report = ledger.verify_chain()

    assert report.broken_at == 5 and report.problem and "missing" in report.problem


def test_a_digest_proves_the_prefix_unchanged(pg: tuple[Ledger, str]) -> None:
    ledger, schema = pg
    _scenario(ledger)
    position, head = ledger.head()
    assert ledger.verify_chain(digest=(position, head)).verified
    approved(ledger, funded_phase(ledger), recipients(ledger, 1)[0], "5.00")
    assert ledger.verify_chain(digest=(position, head)).verified

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        # Rewriting the chain too: recompute nothing, just swap a stored hash.
        conn.execute(
            f'UPDATE "{schema}".ledger_chain SET hash = %s WHERE position = %s',
            (bytes(32), position),
        )

    report = ledger.verify_chain(digest=(position, head))
    assert not report.verified and report.broken_at == position


def test_sqlite_tampering_is_detected(sqlite_url: str) -> None:
    import sqlite3

    ledger = build_ledger(Settings(database_url=sqlite_url))
    _scenario(ledger)
    ledger.close()
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = 7")

    report = build_ledger(Settings(database_url=sqlite_url)).verify_chain()

    assert report.broken_at == 7


def _url(ledger: Ledger) -> str:
    env = ledger.env
    return (f"postgresql://{env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/"
            f"{env['POSTGRES_DBNAME']}?schema={env['POSTGRES_SCHEMA']}")


__all__ = ["date"]
