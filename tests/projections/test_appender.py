"""A rebuild's appended rows, written a batch behind on a connection of their own
(projections/appender.py): in order, all of them before the switch, and a failure is loud."""

from __future__ import annotations

import pytest

from projections.appender import Appender, Collecting, appended_tables
from projections.db import Database
from projections.grants import ENTITIES, HISTORY
from projections.read_models import all_projections
from tests.projections.helpers import caught_up_story


def test_batches_are_written_in_order_each_in_one_transaction(postgres_url: str):
    db = Database(postgres_url)
    try:
        with db.write() as tx:
            tx.execute("CREATE TABLE appended_rows (n BIGINT PRIMARY KEY, batch INTEGER)")
        with Appender(db, depth=1) as appender:
            for batch in range(5):
                appender.put([("appended_rows", ("n", "batch"),
                               [(batch * 100 + i, batch) for i in range(100)])])
            appender.put([])  # a batch with nothing appended is nothing to write
            appender.drain()
            with db.read() as tx:
                rows = tx.execute("SELECT batch, COUNT(*), MIN(n), MAX(n) FROM appended_rows "
                                  "GROUP BY batch ORDER BY batch")
        assert [tuple(int(v) for v in row) for row in rows] == [
            (b, 100, b * 100, b * 100 + 99) for b in range(5)]
    finally:
        db.close()


def test_a_failed_batch_is_raised_and_writes_nothing_after_it(postgres_url: str):
    db = Database(postgres_url)
    try:
        with db.write() as tx:
            tx.execute("CREATE TABLE appended_rows (n BIGINT PRIMARY KEY)")
        appender = Appender(db)
        try:
            appender.put([("appended_rows", ("n",), [(1,), (2,)])])
            # the second of the same keys breaks the key: that batch rolls back whole
            appender.put([("appended_rows", ("n",), [(3,)]), ("appended_rows", ("n",), [(2,)])])
            with pytest.raises(RuntimeError, match="writing appended rows failed"):
                appender.drain()
            with pytest.raises(RuntimeError, match="writing appended rows failed"):
                appender.put([("appended_rows", ("n",), [(4,)])])
        finally:
            appender.close()
            appender.close()  # idempotent
        with db.read() as tx:
            kept = tx.execute("SELECT n FROM appended_rows ORDER BY n")
        assert [int(n) for (n,) in kept] == [1, 2]
    finally:
        db.close()


def test_only_appended_tables_are_collected(postgres_url: str):
    names = appended_tables({p.name: p for p in all_projections()}, {"grants": "v1"})
    assert HISTORY.name("v1") in names
    assert ENTITIES.name("v1") not in names  # read back by the next batch
    db = Database(postgres_url)
    try:
        with db.write() as tx:
            collecting = Collecting(tx, names)
            collecting.insert_rows(HISTORY.name("v1"), HISTORY.column_names, [])
            assert collecting.rows == []
            with pytest.raises(TypeError, match="never updated"):
                collecting.upsert_rows(HISTORY.name("v1"), HISTORY.column_names, "kind",
                                       ("state",), [("x",)])
    finally:
        db.close()


def test_a_rebuild_whose_appended_rows_fail_does_not_switch(postgres_url: str,
                                                            monkeypatch: pytest.MonkeyPatch):
    with caught_up_story(postgres_url) as (_, read_models, story):
        before = read_models.phase_totals(story.phase_id)
        # A real failure of the appender's connection: its batches land in a table
        # the new version does not have.
        real_put = Appender.put

        def misdirected(self: Appender, batch: list) -> None:
            real_put(self, [("proj_missing_table", columns, rows)
                            for _, columns, rows in batch])

        monkeypatch.setattr(Appender, "put", misdirected)
        with pytest.raises(RuntimeError, match="writing appended rows failed"):
            read_models.replay(["grants"])
        with read_models.db.read() as tx:
            assert read_models.runner.live_tags(tx)["grants"] == "v1"
        assert read_models.phase_totals(story.phase_id) == before
        monkeypatch.undo()
        read_models.replay(["grants"])  # the next rebuild starts over and switches
        with read_models.db.read() as tx:
            assert read_models.runner.live_tags(tx)["grants"] == "v2"
        assert read_models.phase_totals(story.phase_id) == before
        assert read_models.verify().ok
