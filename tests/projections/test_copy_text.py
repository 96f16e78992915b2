"""Rows written with COPY come back exactly as given, whatever their text holds."""

from __future__ import annotations

import psycopg
import pytest

from projections.db import Database, copy_text


def test_copy_text_escapes_and_marks_nulls() -> None:
    rows = [(1, "a\tb\\c\nd\re", None), (2, "", "x")]

    text = copy_text(rows)

    assert text == "1\ta\\tb\\\\c\\nd\\re\t\\N\n2\t\tx\n"


def test_a_nul_in_a_value_is_not_taken_for_a_marker() -> None:
    assert copy_text([(1, "bad\x00tvalue", None)]) == "1\tbad\x00tvalue\t\\N\n"


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
