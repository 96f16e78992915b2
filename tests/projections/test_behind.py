"""A rebuild's bulk copies the rows a projection only appends on a second connection
(projections/behind.py). PostgreSQL only: the bulk runs in processes there alone (SQLite
has one writer; projections/parallel.py), and so does the write-behind."""

from __future__ import annotations

import psycopg
import pytest

from projections.base import Table
from projections.behind import WriteBehind, appended_tables
from projections.runner import Runner, create_tables
from tests.projections.helpers import caught_up_story


def _rows(db, runner, tag_of):
    with db.read() as tx:
        return {(name, table.base): table.rows(tx, tag_of[name])
                for name, projection in runner.projections.items()
                for table in projection.tables}


def test_a_replay_writing_behind_comes_out_identical_to_the_live_tables(postgres_url: str):
    """Batch after batch (ten events each) the appended tables' rows go to the thread
    while the next batch runs; after `flush` every table equals the live version's."""
    with caught_up_story(postgres_url) as (ledger, read_models, _):
        live_runner = read_models.runner
        runner = Runner(read_models.db, ledger, list(live_runner.projections.values()),
                        batch_size=7)
        new = dict.fromkeys(runner.projections, "wb1")
        with read_models.db.schema() as tx:
            live = live_runner.live_tags(tx)
            for name in new:
                create_tables(tx, runner.projections[name], "wb1", indexes=False)
        tables = frozenset().union(*(appended_tables(p, "wb1")
                                     for p in runner.projections.values()))
        behind = WriteBehind(postgres_url, tables)
        sent: list[int] = []
        real_collect = behind.collect

        def collect(table, columns, rows):
            sent.append(len(rows))
            real_collect(table, columns, rows)

        behind.collect = collect  # type: ignore[method-assign]
        try:
            runner.writing = behind.deferring
            batches = 0
            while True:
                count = runner.run_batch(new)
                behind.send()
                batches += 1
                if count < runner.batch_size:
                    break
            behind.flush()
        finally:
            behind.close()

        assert batches > 3 and sum(sent) > 0  # many batches; rows really went behind
        assert "proj_entries_wb1" in tables and "proj_scopes_wb1" not in tables
        assert _rows(read_models.db, runner, new) == _rows(read_models.db, runner, live)


def test_a_batch_may_not_read_or_change_a_table_written_behind(postgres_url: str):
    with caught_up_story(postgres_url) as (_, read_models, _story):
        with read_models.db.read() as tx:
            tag = read_models.runner.live_tags(tx)["grants"]
        behind = WriteBehind(postgres_url, [f"proj_entries_{tag}"])
        try:
            with read_models.db.write() as tx:
                deferring = behind.deferring(tx)
                with pytest.raises(RuntimeError, match=f"proj_entries_{tag} is written behind"):
                    deferring.execute(f"SELECT COUNT(*) FROM proj_entries_{tag}")
                with pytest.raises(RuntimeError, match="written behind"):
                    deferring.upsert_rows(f"proj_entries_{tag}", ("position",), "position",
                                          (), [(1,)])
                # another version's table of a longer tag is not that table
                assert deferring.execute(
                    f"SELECT to_regclass('proj_entries_{tag}0') IS NULL") == [(True,)]
                counted = deferring.execute(f"SELECT COUNT(*) FROM proj_scopes_{tag}")
            assert counted[0][0] > 0
        finally:
            behind.close()


def test_the_threads_error_reaches_the_replay_and_nothing_of_its_batch_stays(
        postgres_url: str):
    """A batch the thread cannot copy (here: a row whose key is already there) fails the
    replay at its next `send` or `flush`, and that batch's rows are rolled back."""
    table = Table("behind_probe", (("k", "BIGINT NOT NULL"), ("v", "TEXT NOT NULL")),
                  key=("k",), appended=True)
    with caught_up_story(postgres_url) as (_, read_models, _story):
        with read_models.db.schema() as tx:
            table.create(tx, "t1")
        name = table.name("t1")
        behind = WriteBehind(postgres_url, appended_tables(
            type("P", (), {"tables": (table,)})(), "t1"))  # type: ignore[arg-type]
        try:
            behind.collect(name, ("k", "v"), [(1, "a"), (2, "b")])
            behind.send()
            behind.collect(name, ("k", "v"), [(3, "c"), (2, "again")])
            behind.send()
            with pytest.raises(RuntimeError, match="write-behind") as raised:
                behind.flush()
            assert isinstance(raised.value.__cause__, psycopg.errors.UniqueViolation)
            with pytest.raises(RuntimeError, match="write-behind"):
                behind.send()
        finally:
            behind.close()
        with read_models.db.read() as tx:
            assert tx.execute(f"SELECT k, v FROM {name} ORDER BY k") == [(1, "a"), (2, "b")]
        with read_models.db.schema() as tx:
            table.drop(tx, "t1")
