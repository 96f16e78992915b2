"""A database written by an earlier release: its live tables get this release's new
indexes at start, and what they cannot answer right (figures by business date, without
`days`/`account_days` filled from the start of the log) is refused with a message naming
`ledger replay`, until a replay writes a version of this release's schema. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger import Ledger, NewRecipient, Settings, build_ledger
from ledger.errors import ProjectionOutdated
from projections import account_days, base, days, lookups
from projections.db import Database
from projections.grants import CHANGES, ENTRIES, GrantsProjection
from projections.read_models import ReadModelsImpl, build_read_models
from tests.projections.helpers import as_of_answers, run_story
from tests.support.scenario import ADMIN

ON = date(2020, 12, 31)


def _answers(read: ReadModelsImpl, programme_id: str, phase_id: str) -> dict[str, Any]:
    return {"totals": read.phase_totals(phase_id, effective_on=ON),
            "year": read.reconciliation(programme_id, 2020, effective_on=ON),
            "accounts": read.accounts(programme_id, effective_on=ON, limit=1000)}


def _live_tag(read: ReadModelsImpl) -> str:
    with read.db.read() as tx:
        return str(tx.execute(base.SELECT_LIVE_POSITION, ("grants",))[0][1])


def test_business_dates_are_refused_on_an_old_store_until_a_replay(
    sql_database_url: str,
) -> None:
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read = build_read_models(settings, ledger)
    story = run_story(ledger, read)
    read.catch_up()
    expected = _answers(read, story.programme_id, story.phase_id)
    now = read.phase_totals(story.phase_id)
    tag = _live_tag(read)
    with read.db.write() as tx:  # as an upgrade through the release of `days` left it
        tx.execute("DELETE FROM proj_schemas")
        for table in (*days.TABLES, *account_days.TABLES):
            tx.execute(f"DELETE FROM {table.name(tag)}")
    read.close()

    again = build_read_models(settings, ledger)
    try:
        outdated = again.runner.outdated()
        with pytest.raises(ProjectionOutdated, match="ledger replay --projection grants"):
            again.phase_totals(story.phase_id, effective_on=ON)
        with pytest.raises(ProjectionOutdated):
            again.accounts(story.programme_id, effective_on=ON)
        current = again.phase_totals(story.phase_id)  # without a cut-off: as before

        again.replay(["grants"])

        assert again.runner.outdated() == {}
        assert _answers(again, story.programme_id, story.phase_id) == expected
    finally:
        again.close()
        ledger.close()
    assert outdated == {"grants": (1, GrantsProjection.schema_version)}
    assert current == now


def _as_of(read: ReadModelsImpl, story: Any, at: int) -> dict[str, Any]:
    """Every figure as of `at`, with and without a business-date cut-off."""
    return {**as_of_answers(read, story, at),
            "dated totals": read.phase_totals(story.phase_id, at=at, effective_on=ON),
            "dated year": read.reconciliation(story.programme_id, 2020, at=at,
                                              effective_on=ON)}


@pytest.mark.parametrize(("schema", "missing"), [(2, ("scope_changes", "months",
                                                      "month_history")),
                                                 (3, ("months", "month_history"))])
def test_a_store_of_an_earlier_schema_answers_as_of_as_it_was_written(
    sql_database_url: str, schema: int, missing: tuple[str, ...],
) -> None:
    """Schema 2 has no `scope_changes`, 3 no `months` (a start creates them empty): their
    as-of figures come from what they hold — legs and application states, every day up
    to a date — the same answers as a fresh store's, at every position."""
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read = build_read_models(settings, ledger)
    story = run_story(ledger, read)
    read.catch_up()
    tag = _live_tag(read)
    expected = {at: _as_of(read, story, at) for at, _ in story.snapshots}
    with read.db.write() as tx:  # as a store of that release holds it
        tx.execute("UPDATE proj_schemas SET version = ? WHERE projection = 'grants'",
                   (schema,))
        for table in (CHANGES, *days.TABLES):
            if table.base in missing:
                tx.execute(f"DELETE FROM {table.name(tag)}")
    read.close()

    again = build_read_models(settings, ledger)
    try:
        outdated = again.runner.outdated()
        written = {at: _as_of(again, story, at) for at, _ in story.snapshots}
        again.replay(["grants"])
        replayed = {at: _as_of(again, story, at) for at, _ in story.snapshots}
    finally:
        again.close()
        ledger.close()
    assert outdated == {"grants": (schema, GrantsProjection.schema_version)}
    assert written == expected
    assert replayed == expected


def test_a_fresh_store_and_a_replayed_one_are_of_this_release(sql_database_url: str) -> None:
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read = build_read_models(settings, ledger)
    try:
        run_story(ledger, read)
        read.catch_up()
        read.close()
        read = build_read_models(settings, ledger)  # a restart keeps the recorded version
        fresh = read.runner.outdated()
        read.replay()
        replayed = read.runner.outdated()
        with read.db.read() as tx:
            versions = sorted(tx.execute("SELECT projection, tag, version FROM proj_schemas"))
            live = {str(n): str(t) for n, t in tx.execute(base.SELECT_LIVE)}
    finally:
        read.close()
        ledger.close()
    assert fresh == replayed == {}
    # the version before a rebuild stays for readers inside it, with its own record
    assert {(n, t) for n, t, _ in versions} >= {(n, t) for n, t in live.items()}
    assert all(v == (GrantsProjection.schema_version if n == "grants" else 1)
               for n, _, v in versions)


def test_a_new_index_is_added_to_the_live_tables_at_start(sql_database_url: str) -> None:
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read = build_read_models(settings, ledger)
    tag = _live_tag(read)
    newest = f"{ENTRIES.name(tag)}_i{len(ENTRIES.indexes) - 1}"
    with read.db.write() as tx:  # an earlier release had no index on recipient kinds
        tx.execute(f"DROP INDEX {newest}")
    read.close()
    before = _indexes(settings, ledger, newest, start=False)

    after = _indexes(settings, ledger, newest, start=True)
    ledger.close()
    assert (before, after) == (0, 1)
    assert ENTRIES.indexes[-1] == ("phase_id", "recipient_kind", "account_kind", "cls",
                                   "position", "leg")


def _indexes(settings: Settings, ledger: Ledger, name: str, *, start: bool) -> int:
    """How many indexes called `name` the store has (after a start, with `start`)."""
    if start:
        build_read_models(settings, ledger).close()
    db = Database(settings.database_url)
    try:
        with db.read() as tx:
            # each test has its own schema: others' indexes of the same name do not count
            sql = ("SELECT COUNT(*) FROM pg_indexes WHERE indexname = ? "
                   "AND schemaname = current_schema()"
                   if tx.dialect == "postgresql" else
                   "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?")
            return int(tx.execute(sql, (name,))[0][0])
    finally:
        db.close()


def test_a_schema_4_store_gets_its_search_keys_in_every_spelling_at_start(
    sql_database_url: str,
) -> None:
    """Schema 5 only indexes more spellings of the same names: a schema 4 store is not
    outdated for that: its lookup rows are written again at start, exactly as a replay
    writes them, and it becomes schema 5 (outdated only for what schema 6 changed)."""
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read = build_read_models(settings, ledger)
    story = run_story(ledger, read)
    ledger.register_recipients(ADMIN, recipients=[
        NewRecipient("06440004", "Büdingen, Stadt", "stadt")])
    read.catch_up()
    tag = _live_tag(read)
    with read.db.write() as tx:  # as the last release wrote it: keys as written only
        tx.execute("UPDATE proj_schemas SET version = 4 WHERE projection = 'grants'")
        tx.execute(f"DELETE FROM {lookups.LOOKUP.name(tag)} WHERE key = ?",
                   (lookups.encode("budingen stadt"),))
    read.close()

    again = build_read_models(settings, ledger)
    try:
        outdated = again.runner.outdated()
        found = again.recipients(text="budingen")["items"]
        report = again.verify()
    finally:
        again.close()
        ledger.close()
    # respelled in place to 5; outdated only for what a later schema changed
    assert outdated == {"grants": (lookups.SPELLINGS_SCHEMA, GrantsProjection.schema_version)}
    assert [r["recipient_id"] for r in found] == ["06440004"]
    assert report.ok, report.differences
    assert story.phase_id
