"""`verify` compares live and replayed tables a chunk at a time (keyset pagination), so
memory stays bounded; with chunks far smaller than the tables it still names every
edited, missing and extra row."""

from __future__ import annotations

from ledger import Settings, build_ledger
from projections import build_read_models
from projections.rebuild import verify
from tests.projections.helpers import run_story


def test_small_chunks_find_an_edited_a_missing_and_an_extra_row(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger)
    seen: list[tuple[str, int, int]] = []
    try:
        run_story(ledger)
        read_models.catch_up()
        with read_models.db.write() as tx:
            tx.execute("UPDATE proj_entries_v1 SET amount = amount + 1 "
                       "WHERE position = (SELECT MIN(position) FROM proj_entries_v1)")
            tx.execute("DELETE FROM proj_audit_v1 WHERE position = 7")
            tx.execute("INSERT INTO proj_audit_entities_v1 (originator_id, entity_type, entity_id) "
                       "VALUES ('zzzz-extra', 'recipient', 'nobody')")

        report = verify(read_models.runner, chunk=4,
                        progress=lambda what, done, total: seen.append((what, done, total)))

        found = {(d.projection, d.table): d for d in report.differences}
        assert set(found) == {("grants", "entries"), ("audit", "audit"),
                              ("audit", "audit_entities")}
        assert found["grants", "entries"].count == 2  # both legs of the first posting
        assert found["audit", "audit"].count == 1
        assert "missing from the live table" in found["audit", "audit"].problems[0]
        assert "(7,)" in found["audit", "audit"].problems[0]
        assert found["audit", "audit_entities"].count == 1
        assert "'zzzz-extra'" in found["audit", "audit_entities"].problems[0]
        assert "not in a fresh replay" in found["audit", "audit_entities"].problems[0]
        compared = [s for s in seen if s[0].startswith("compare")]
        assert compared and all(done <= total for _, done, total in compared)
    finally:
        read_models.close()


def test_small_chunks_pass_identical_tables(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger)
    try:
        run_story(ledger)

        report = verify(read_models.runner, chunk=3)

        assert report.ok, report.differences
        assert set(report.positions) == {"audit", "grants"}
    finally:
        read_models.close()


def test_a_live_table_emptied_is_reported_row_by_row_in_bounded_chunks(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger)
    try:
        run_story(ledger)
        read_models.catch_up()
        with read_models.db.read() as tx:
            rows = len(tx.execute("SELECT position FROM proj_audit_v1"))
        with read_models.db.write() as tx:
            tx.execute("DELETE FROM proj_audit_v1")

        report = verify(read_models.runner, chunk=5)

        (diff,) = [d for d in report.differences if d.table == "audit"]
        assert diff.count == rows
        assert len(diff.problems) == 20
    finally:
        read_models.close()
