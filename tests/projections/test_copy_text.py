"""Rows written with COPY come back exactly as given, whatever their text holds."""

from __future__ import annotations

import psycopg
import pytest

from projections.db import Database


def test_rows_round_trip_through_postgresql(postgres_url: str) -> None:
    rows = [(n, text, None if n % 2 else f"{n}") for n, text in enumerate(
        ["plain", "tab\there", "back\\slash", "new\nline", "cr\rhere", '{"json": "\\"q\\""}',
         "ümlaut €", ""])]
    db = Database(postgres_url)
    try:
        with db.write() as tx:
            tx.execute("CREATE TABLE copy_check (n BIGINT, t TEXT, o TEXT)")
            tx.insert_rows("copy_check", ("n", "t", "o"), rows)
        with db.read() as tx:
            back = tx.execute("SELECT n, t, o FROM copy_check ORDER BY n")
        assert [tuple(r) for r in back] == rows
        with pytest.raises(psycopg.Error), db.write() as tx:
            tx.insert_rows("copy_check", ("n", "t", "o"), [(99, "nul\x00tinside", None)])
    finally:
        db.close()
