"""A server's runner far behind the log (a log imported in bulk) rebuilds in processes and
switches, instead of catching up in batches in the server's interpreter; it stops when
the server stops, leaving the live versions as they were; one rebuild at a time."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest

from projections import parallel
from projections.leader import lock_for
from projections.rebuild import RebuildBusy
from projections.runner import create_tables, tracking, wait_until
from tests.projections.helpers import story_behind
from tests.support.faults import Breakable


def _tags(read_models) -> set[tuple[str, str]]:  # every version that has a tracking row
    with read_models.db.read() as tx:
        return {(str(p), str(t)) for p, t in tx.execute(
            "SELECT projection, tag FROM proj_tracking")}


def test_a_runner_far_behind_rebuilds_in_processes_and_switches(
        postgres_url: str, bulks: list[int | None]) -> None:
    # the story is written before any projection ran: all of it behind
    with story_behind(postgres_url, rebuild_far_behind=True) as (ledger, read_models, story):
        read_models.runner.rebuild_from = 1
        head = ledger.head()[0]
        read_models.start()
        assert wait_until(lambda: read_models.positions() == {"audit": head, "grants": head},
                          timeout=120)
        with read_models.db.read() as tx:
            live = read_models.runner.live_tags(tx)
        totals = read_models.phase_totals(story.phase_id)
        read_models.stop()

        assert live == {"audit": "v2", "grants": "v2"}  # rebuilt and switched, not batched
        assert len(bulks) == 1 and bulks[0]  # in processes (None: it replayed here)
        assert totals["position"] == head
        report = read_models.verify()  # the live tables equal a fresh replay
        assert report.ok, report.differences


def test_a_runner_near_the_head_catches_up_in_batches(postgres_url: str) -> None:
    with story_behind(postgres_url, rebuild_far_behind=True) as (ledger, read_models, _):
        head = ledger.head()[0]
        # the default threshold: far more events than the story has
        assert read_models.runner.far_behind() == ([], head)
        read_models.runner.rebuild_from = 1
        assert read_models.runner.far_behind() == (["audit", "grants"], head)
        read_models.catch_up()
        assert read_models.runner.far_behind() == ([], head)  # nothing behind


def test_a_failing_projection_is_left_to_its_batches_not_rebuilt_again_and_again(
        postgres_url: str) -> None:
    """A projection the last batch found failing is not among those to rebuild: replayed
    it would fail at the same event (every REBUILD_PAUSE, logged each time); its batches
    retry it and /health says so. Once a batch gets through, it is a candidate again."""
    with story_behind(postgres_url, rebuild_far_behind=True) as (ledger, read_models, _):
        runner = read_models.runner
        runner.rebuild_from = 1
        runner.retry_interval = 0
        grants = Breakable(runner.projections["grants"])
        runner.projections["grants"] = grants  # type: ignore[assignment]
        head = ledger.head()[0]
        assert runner.far_behind() == (["audit", "grants"], head)

        runner._step()  # grants fails, audit takes its batch

        assert grants.failures >= 1
        assert runner.far_behind()[0] == ["audit"]
        grants.broken = False
        runner._step()
        assert runner.far_behind()[0] == ["audit", "grants"]


def test_a_stopped_rebuild_leaves_the_live_versions_and_no_new_tables(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    with story_behind(postgres_url, batch_size=1,
                      rebuild_far_behind=True) as (ledger, read_models, _):
        runner = read_models.runner
        runner.rebuild_from = 1
        head = ledger.head()[0]
        runner.start()
        thread = runner._thread
        assert thread is not None
        assert wait_until(lambda: runner.rebuilding is not None, timeout=30)
        # its progress is in the status every worker reads (GET /health)
        assert wait_until(lambda: all(s.get("rebuilding", {}).get("tag") == "v2" for s in
                                      read_models.projection_status().values()), timeout=30)
        runner.stop(timeout=120)

        assert not thread.is_alive()
        assert _tags(read_models) == {("audit", "v1"), ("grants", "v1")}  # v2 dropped
        assert read_models.positions() == {"audit": 0, "grants": 0}

        runner.batch_size = 10
        read_models.start()  # started again, it rebuilds from the start and switches
        assert wait_until(lambda: read_models.positions() == {"audit": head, "grants": head},
                          timeout=120)
        with read_models.db.read() as tx:
            assert runner.live_tags(tx) == {"audit": "v2", "grants": "v2"}


def test_one_rebuild_at_a_time(sql_database_url: str) -> None:
    other = lock_for(sql_database_url, "rebuild")  # as another process's rebuild holds it
    with story_behind(sql_database_url, batch_size=50) as (ledger, read_models, _):
        try:
            assert other.hold()
            with pytest.raises(RebuildBusy, match="another rebuild"):
                read_models.replay()
            other.release()
            events, _ = read_models.replay()

            assert events == ledger.head()[0]
            with read_models.db.read() as tx:
                assert read_models.runner.live_tags(tx) == {"audit": "v2", "grants": "v2"}
        finally:
            other.release()


def test_a_busy_rebuild_leaves_the_runner_to_its_batches(postgres_url: str) -> None:
    other = lock_for(postgres_url, "rebuild")
    with story_behind(postgres_url, rebuild_far_behind=True) as (ledger, read_models, _):
        read_models.runner.rebuild_from = 1
        head = ledger.head()[0]
        try:
            assert other.hold()
            read_models.start()
            assert wait_until(
                lambda: read_models.positions() == {"audit": head, "grants": head},
                timeout=120)
            with read_models.db.read() as tx:
                assert read_models.runner.live_tags(tx) == {"audit": "v1", "grants": "v1"}
        finally:
            other.release()


def test_a_stop_reaches_the_processes_before_their_next_batch(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    with story_behind(postgres_url, batch_size=5) as (ledger, read_models, _):
        runner = read_models.runner
        new = {"audit": "v7", "grants": "v7"}
        stop = threading.Event()
        stop.set()  # (before the processes have started: none of them replays a batch)
        with read_models.db.schema() as tx:
            for name, tag in new.items():
                create_tables(tx, runner.projections[name], tag, indexes=False)
        with pytest.raises(parallel.Stopped):
            parallel.bulk_in_processes(runner, new, head=ledger.head()[0], stop=stop)
        with read_models.db.read() as tx:
            assert {name: tracking(tx, name, tag) for name, tag in new.items()} == {
                "audit": 0, "grants": 0}

        stop.clear()  # not stopped: they replay it all
        assert parallel.bulk_in_processes(runner, new, head=ledger.head()[0], stop=stop)
        with read_models.db.read() as tx:
            assert {name: tracking(tx, name, tag) for name, tag in new.items()} == {
                "audit": ledger.head()[0], "grants": ledger.head()[0]}


def test_the_processes_run_at_the_niceness_asked() -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=parallel._child,
                             initargs=(context.Event(), 3)) as pool:
        assert pool.submit(os.nice, 0).result() == min(os.nice(0) + 3, 19)
