"""A server's background threads wait for the log's NOTIFY instead of polling it
(ledger/persistence/watch.py): woken by any process's commit, at most once per coalescing
window, again after a lost connection; idle, they send no statement."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from ledger import Ledger, Settings, build_ledger
from ledger.keeper import IntegrityKeeper
from projections import build_read_models
from projections.runner import wait_until
from tests.conftest import PG_DSN
from tests.support.scenario import funded_phase, recipients


def one_event() -> list[StoredEvent]:
    return [StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                        topic="tests:Small.Event", state=b'{"n":1}')]


def listening(ledger: Ledger) -> threading.Event:
    watch = ledger.log_watch()
    assert watch is not None and watch.wait_listening(10)
    woken = threading.Event()
    watch.subscribe(woken.set)
    return woken


def test_a_commit_in_another_process_wakes_the_subscribers(two: tuple[Ledger, Ledger]) -> None:
    a, b = two
    woken = listening(a)
    time.sleep(0.2)  # the wake-up of the LISTEN itself has passed
    woken.clear()
    watch = a.log_watch()
    assert watch is not None
    generation = watch.generation

    assert not woken.wait(0.5)  # nothing written: nobody is woken
    b.recorder.insert_events(one_event())

    assert woken.wait(5)
    assert watch.generation > generation


def test_a_stream_of_commits_wakes_once_per_window(two: tuple[Ledger, Ledger]) -> None:
    a, b = two
    listening(a)
    watch = a.log_watch()
    assert watch is not None
    watch.coalesce = 0.2
    time.sleep(0.3)
    before = watch.generation

    started = time.monotonic()
    for _ in range(60):
        b.recorder.insert_events(one_event())
    elapsed = time.monotonic() - started
    time.sleep(0.5)  # the last window ends, and its notifications wake once more

    wakes = watch.generation - before
    assert 1 <= wakes <= elapsed / 0.2 + 3, (wakes, elapsed)


def test_the_watch_listens_again_after_its_connection_is_lost(
    two: tuple[Ledger, Ledger],
) -> None:
    a, b = two
    woken = listening(a)
    watch = a.log_watch()
    assert watch is not None
    watch.retry = 0.1
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%'"
            " AND pid <> pg_backend_pid()").fetchall()
    assert killed
    assert wait_until(lambda: not watch.listening, 5)
    assert wait_until(lambda: watch.listening, 10)
    time.sleep(0.2)
    woken.clear()

    b.recorder.insert_events(one_event())

    assert woken.wait(5)


def test_an_idle_runner_sends_nothing_and_a_commit_wakes_it(
    two: tuple[Ledger, Ledger], postgres_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = two
    read = build_read_models(Settings(database_url=postgres_url), a)
    runner = read.runner
    runner.idle_interval = 60  # only a notification can wake it within the test
    batches: list[float] = []
    original = runner.run_batch

    def counted(*args: object, **kwargs: object) -> int:
        batches.append(time.monotonic())
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "run_batch", counted)
    try:
        read.start()
        watch = a.log_watch()
        assert watch is not None and watch.wait_listening(10)
        settled = False  # the first batches (at start, and the LISTEN's wake-up) end
        for _ in range(20):
            idle = len(batches)
            time.sleep(0.5)
            if len(batches) == idle:
                settled = True
                break
        assert settled, batches
        time.sleep(1.0)
        assert len(batches) == idle  # polling every 0.1 s would have run ten

        funded_phase(b)  # written by another process
        head = b.head()[0]

        assert wait_until(lambda: read.position() >= head, 5)
    finally:
        read.close()


def test_an_idle_keeper_keeps_its_answer_until_a_commit(
    two: tuple[Ledger, Ledger], monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = two
    funded_phase(a)
    keeper = IntegrityKeeper(a, interval=0.05, max_age=0.1, idle_interval=60)
    steps: list[float] = []
    original = keeper.step

    def counted() -> bool:
        steps.append(time.monotonic())
        return original()

    monkeypatch.setattr(keeper, "step", counted)
    keeper.start()
    try:
        watch = a.log_watch()
        assert watch is not None and watch.wait_listening(10)
        settled = False  # at the head, with the LISTEN's wake-up behind it: no more steps
        for _ in range(20):
            seen = len(steps)
            time.sleep(0.5)  # five times max_age; polling every 0.05 s would step ten times
            if len(steps) == seen:
                settled = True
                break
        assert settled, len(steps)
        kept = keeper.current()  # older than max_age, yet nothing was written since
        assert kept is not None and kept == a.integrity()
        assert kept.checkpoint.position == kept.head_position == a.head()[0]

        recipients(b, 2)  # written by another process: its NOTIFY wakes the keeper
        head = b.head()[0]

        def moved() -> bool:
            current = keeper.current()
            return current is not None and current.checkpoint.position == head

        assert wait_until(moved, 5)
    finally:
        keeper.stop()


def test_without_a_watch_the_runner_polls_as_before(sqlite_url: str) -> None:
    ledger = build_ledger(Settings(database_url=sqlite_url))
    try:
        assert ledger.log_watch() is None
        read = build_read_models(Settings(database_url=sqlite_url), ledger)
        read.start()
        try:
            funded_phase(ledger)
            head = ledger.head()[0]
            assert wait_until(lambda: read.position() >= head, 5)
        finally:
            read.close()
    finally:
        ledger.close()


def test_a_wakeup_ends_only_an_idle_wait_on_a_notification() -> None:
    from ledger.persistence.watch import Wakeup

    wakeup = Wakeup()
    threading.Timer(0.05, wakeup.notified).start()
    started = time.monotonic()
    wakeup.wait(0.4, idle=False)  # busy: the pace holds, the notification waits its turn
    assert time.monotonic() - started >= 0.35

    wakeup.notified()  # came between the last look and this wait: no wait at all
    started = time.monotonic()
    wakeup.wait(5, idle=True)
    assert time.monotonic() - started < 0.1

    threading.Timer(0.05, wakeup.notified).start()
    started = time.monotonic()
    wakeup.wait(5, idle=True)  # idle: the notification ends the wait
    assert time.monotonic() - started < 1

    threading.Timer(0.05, wakeup.set).start()
    started = time.monotonic()
    wakeup.wait(5, idle=False)  # a poke ends any wait
    assert time.monotonic() - started < 1


def test_a_commit_in_another_schema_of_the_database_wakes_nobody(
    two: tuple[Ledger, Ledger], postgres_url: str,
) -> None:
    """Notifications are per database; each schema's log has a channel of its own."""
    a, _ = two
    other = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{other}"')
    elsewhere = build_ledger(Settings(
        database_url=postgres_url.replace(postgres_url.rsplit("schema=", 1)[1], other)))
    try:
        assert elsewhere.recorder.channel_name != a.recorder.channel_name  # type: ignore[attr-defined]
        woken = listening(a)
        time.sleep(0.2)  # the wake-up of the LISTEN itself has passed
        woken.clear()

        elsewhere.recorder.insert_events(one_event())

        assert not woken.wait(1.0)
    finally:
        elsewhere.close()
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')
