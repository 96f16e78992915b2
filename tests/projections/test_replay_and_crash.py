"""Exactly once: a crash mid-batch neither double-counts nor skips; a rebuild comes out
identical."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import Settings, build_ledger
from projections import build_read_models
from projections.runner import tracking
from tests.projections.helpers import caught_up_story, run_story

ROOT = Path(__file__).resolve().parents[2]


def _tables(read_models, tag_of=None):  # every row of every live table, by table name
    with read_models.db.read() as tx:
        tags = tag_of or read_models.runner.live_tags(tx)
        return {
            table.base: table.rows(tx, tags[name])
            for name, projection in read_models.runner.projections.items()
            for table in projection.tables
        }


def test_replay_rebuilds_identical_tables_and_switches_version(sql_database_url: str):
    with caught_up_story(sql_database_url) as (ledger, read_models, story):
        before = _tables(read_models)
        totals_before = read_models.phase_totals(story.phase_id)

        events, seconds = read_models.replay()

        after = _tables(read_models)
        with read_models.db.read() as tx:
            tags = read_models.runner.live_tags(tx)
        assert tags == {"audit": "v2", "grants": "v2"}
        assert events == ledger.head()[0]
        assert seconds > 0
        assert after.keys() == before.keys()
        for name, rows in before.items():
            assert after[name] == rows, name
        assert read_models.phase_totals(story.phase_id) == totals_before
        read_models.replay(["grants"])
        read_models.replay(["grants"])
        with read_models.db.read() as tx:
            assert read_models.runner.live_tags(tx) == {"audit": "v2", "grants": "v4"}
            remaining = {str(t) for (t,) in tx.execute(
                "SELECT tag FROM proj_tracking WHERE projection = 'grants'")}
        assert remaining == {"v3", "v4"}  # the one before stays for readers still inside it


def test_verify_reports_a_tampered_projection_row(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger)
    try:
        run_story(ledger)
        assert read_models.verify().ok

        with read_models.db.write() as tx:
            tx.execute("UPDATE proj_entries_v1 SET amount = amount + 1 "
                       "WHERE position = (SELECT MAX(position) FROM proj_entries_v1)")
        report = read_models.verify()

        assert not report.ok
        assert [(d.projection, d.table) for d in report.differences] == [("grants", "entries")]
        assert report.differences[0].count == 2  # both legs of the last posting
    finally:
        read_models.close()


def test_a_projection_killed_mid_batch_resumes_exactly_once(postgres_url: str, tmp_path: Path):
    settings = Settings(database_url=postgres_url)
    ledger = build_ledger(settings)
    for _ in range(3):
        run_story(ledger)
    marker = tmp_path / "hanging"
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/projections/crash_child.py"), postgres_url,
         str(marker), "3"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never reached the third batch"
            time.sleep(0.05)
        hanging_at = int(marker.read_text())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)

    read_models = build_read_models(settings, ledger)
    try:
        positions = read_models.positions()
        assert 0 < positions["grants"] < hanging_at  # the third batch was rolled back
        assert positions["audit"] == positions["grants"]

        read_models.catch_up()
        report = read_models.verify()

        assert report.ok, report.differences
        assert read_models.positions() == {"audit": ledger.head()[0], "grants": ledger.head()[0]}
        with read_models.db.read() as tx:
            tag = read_models.runner.live_tags(tx)["grants"]
            assert tracking(tx, "grants", tag) == ledger.head()[0]
    finally:
        read_models.close()


@pytest.mark.parametrize("crash_after", [1, 2])
def test_a_failing_batch_writes_nothing(sql_database_url: str, crash_after: int):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    run_story(ledger)
    read_models = build_read_models(settings, ledger, batch_size=20)
    batches = 0

    def explode(position: int) -> None:
        nonlocal batches
        batches += 1
        if batches == crash_after:
            raise RuntimeError("power cut")

    read_models.runner.before_commit = explode
    try:
        with pytest.raises(RuntimeError):
            read_models.catch_up()
        assert read_models.positions()["grants"] == 20 * (crash_after - 1)
        read_models.runner.before_commit = None
        read_models.catch_up()
        assert read_models.verify().ok
    finally:
        read_models.close()


def test_a_rebuild_in_processes_comes_out_identical(postgres_url: str,
                                                    monkeypatch: pytest.MonkeyPatch):
    from projections import parallel

    with caught_up_story(postgres_url) as (ledger, read_models, story):
        before = _tables(read_models)
        totals_before = read_models.phase_totals(story.phase_id)
        monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)

        events, _ = read_models.replay()

        assert events == ledger.head()[0]
        after = _tables(read_models)
        for name, rows in before.items():
            assert after[name] == rows, name
        assert read_models.phase_totals(story.phase_id) == totals_before
        assert read_models.verify().ok
        # each process indexed and analysed its own tables before the switch
        with read_models.db.read() as tx:
            tags = read_models.runner.live_tags(tx)
            names = {str(n) for (n,) in tx.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
            analysed = {str(n) for (n,) in tx.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)")}
        for name, projection in read_models.runner.projections.items():
            for table in projection.tables:
                table_name = table.name(tags[name])
                assert {f"{table_name}_i{n}" for n in range(len(table.indexes))} <= names
                assert table_name in analysed


def test_verify_replays_in_processes_and_still_finds_a_tampered_row(
        postgres_url: str, bulks: list[int | None]):
    """From `PARALLEL_FROM` events, verify's fresh replays run in processes of their own
    (each up to the live position, without secondary indexes); the comparison is the same."""
    from projections.rebuild import verify

    with caught_up_story(postgres_url) as (ledger, read_models, _):
        head = ledger.head()[0]
        seen: dict[str, int] = {}
        report = verify(read_models.runner,
                        progress=lambda what, done, total: seen.__setitem__(what, done))

        assert len(bulks) == 1 and bulks[0]  # the processes replayed (None: they did not)
        assert report.ok, report.differences
        assert report.positions == {"audit": head, "grants": head}
        assert seen["replay grants"] == head and seen["replay audit"] == head

        with read_models.db.write() as tx:
            tag = read_models.runner.live_tags(tx)["grants"]
            tx.execute(f"UPDATE proj_entries_{tag} SET amount = amount + 1 "
                       f"WHERE position = (SELECT MAX(position) FROM proj_entries_{tag})")
        report = read_models.verify()

        assert [(d.projection, d.table, d.count) for d in report.differences] == [
            ("grants", "entries", 2)]
        with read_models.db.read() as tx:  # no fresh version left behind, nor its indexes
            tags = {str(t) for (t,) in tx.execute("SELECT tag FROM proj_tracking")}
            tables = {str(t) for (t,) in tx.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        fresh = re.compile(r"^t[0-9a-f]{10}$")  # verify's tags (projections/rebuild.py)
        assert not [t for t in tags if fresh.match(t)], tags
        assert not [t for t in tables if fresh.match(t.rsplit("_", 1)[-1])], tables


def test_a_failing_index_build_fails_the_rebuild_and_the_live_version_stays(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch):
    """The indexes are built on several connections at once (rebuild.index): the first
    error is raised, and the rebuild never switches to the new version."""
    import psycopg

    from projections.base import Table

    with caught_up_story(postgres_url) as (_ledger, read_models, story):
        totals_before = read_models.phase_totals(story.phase_id)
        with read_models.db.read() as tx:
            before = read_models.runner.live_tags(tx)
        original = Table.index_statements
        monkeypatch.setattr(Table, "index_statements", lambda self, tag: original(self, tag)
                            if tag == before["grants"] else  # the live version's, as they are
                            [f"CREATE INDEX {self.name(tag)}_bad ON {self.name(tag)} (nope)"])

        with pytest.raises(psycopg.errors.UndefinedColumn):
            read_models.replay(["grants"])

        with read_models.db.read() as tx:
            assert read_models.runner.live_tags(tx) == before
        assert read_models.phase_totals(story.phase_id) == totals_before
        monkeypatch.undo()
        read_models.replay(["grants"])  # the next rebuild starts over and switches
        with read_models.db.read() as tx:
            assert read_models.runner.live_tags(tx)["grants"] != before["grants"]
        assert read_models.phase_totals(story.phase_id) == totals_before


def test_a_failing_index_build_cancels_the_builds_running_beside_it(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch):
    """The first error stops the others at once, on the server too: a build that would
    run for a minute on another connection is cancelled, not waited for."""
    import psycopg

    from projections.base import Table

    original = Table.index_statements

    def statements(self: Table, tag: str) -> list[str]:
        if tag == before["grants"]:  # the live version's (ensure_schema asks for them)
            return original(self, tag)
        if self.base == "entity_history":  # running when the other fails
            return ["SELECT pg_sleep(60)"]
        if self.base == "entries":  # fails half a second in
            return ["DO $$ BEGIN PERFORM pg_sleep(0.5); RAISE EXCEPTION 'bad build'; END $$"]
        return []

    with caught_up_story(postgres_url) as (_ledger, read_models, _story):
        with read_models.db.read() as tx:
            before = read_models.runner.live_tags(tx)
        monkeypatch.setattr(Table, "index_statements", statements)
        started = time.monotonic()

        with pytest.raises(psycopg.errors.RaiseException, match="bad build"):
            read_models.replay(["grants"])

        assert time.monotonic() - started < 30
        with read_models.db.read() as tx:
            assert read_models.runner.live_tags(tx) == before
            sleeping = tx.execute("SELECT count(*) FROM pg_stat_activity "
                                  "WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'")
        assert int(sleeping[0][0]) == 0


def test_a_replay_in_this_process_collects_less_often_and_restores_the_collector(
        sql_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ledger.heap.batch_collections: CPython's thresholds made a 1M replay in the CLI's
    process spend 9.5 s of its CPU in collections; the process's own settings return."""
    import gc

    from projections.rebuild import SCRATCH
    from projections.runner import Runner

    seen: list[tuple[str, tuple[int, int, int]]] = []  # (tags replayed, thresholds)
    run_batch = Runner.run_batch

    def spy(self: Runner, tags: dict[str, str] | None = None, **kwargs: object) -> int:
        seen.append((",".join(sorted((tags or {}).values())), gc.get_threshold()))
        return run_batch(self, tags, **kwargs)  # type: ignore[arg-type]

    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        with caught_up_story(sql_database_url) as (_, read_models, _story):
            monkeypatch.setattr(Runner, "run_batch", spy)
            read_models.replay(["grants"])
            report = read_models.verify()
            after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)

    replays = {tags: thresholds for tags, thresholds in seen if tags and "v1" not in tags}
    assert "v2" in replays and any(tags.startswith(SCRATCH) for tags in replays)
    assert set(replays.values()) == {(7000, 20, 20)}  # the rebuild's and verify's batches
    assert after == (700, 10, 10)
    assert report.ok
