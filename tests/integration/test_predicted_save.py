"""A command's save on PostgreSQL bets on the chain head its own last save left, and sends
the whole transaction in one round trip (ledger/persistence/pg_save.py). These tests check
that the bet is checked, never assumed: another process writing in between, a bulk save, a
refusal — the log stays one unbroken chain with every position fresh."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger import Ledger, Settings, build_ledger
from ledger.persistence.chain import BULK_EVENTS
from ledger.persistence.log import LogRecord
from ledger.persistence.pg_save import PostgresSmallSave
from projections.runner import wait_until
from tests.conftest import PG_DSN
from tests.support.reference_chain import unmatched_links


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each transaction a small save sent was predicted (one round trip)."""
    seen: list[bool] = []
    original = PostgresSmallSave._run

    def run(self: PostgresSmallSave, conn: Any, events: Any, guards: Any,
            predicted: Any, **kwargs: Any) -> list[int]:
        seen.append(predicted is not None)
        return original(self, conn, events, guards, predicted, **kwargs)

    monkeypatch.setattr(PostgresSmallSave, "_run", run)
    return seen


def events(count: int, *, version: int = 1, oid: uuid.UUID | None = None) -> list[StoredEvent]:
    return [StoredEvent(originator_id=oid or uuid.uuid4(), originator_version=version + n
                        if oid else version, topic="tests:Small.Event", state=b'{"n":%d}' % n)
            for n in range(count)]


def log_of(ledger: Ledger) -> list[LogRecord]:
    return list(ledger.chained_recorder.read_log(after=0, limit=10**6))


def assert_one_chain(ledger: Ledger, expected_events: int) -> list[int]:
    log = log_of(ledger)
    positions = [r.position for r in log]
    assert len(log) == expected_events
    assert positions == sorted(set(positions))
    assert unmatched_links(log) == [] and ledger.verify_chain().verified
    return positions


def test_the_only_writer_saves_predicted_after_its_first_save(
    two: tuple[Ledger, Ledger], runs: list[bool],
) -> None:
    a, _ = two
    saved = [a.recorder.insert_events(events(2)) for _ in range(5)]

    assert runs == [False, True, True, True, True]
    positions = assert_one_chain(a, 10)
    assert [p for s in saved for p in s or []] == positions
    assert positions == list(range(positions[0], positions[0] + 10))  # no gaps


def test_a_save_after_another_process_wrote_finds_the_moved_head_and_saves_on_it(
    two: tuple[Ledger, Ledger], runs: list[bool],
) -> None:
    a, b = two
    for _ in range(4):  # each one's bet is stale: the other wrote since
        a.recorder.insert_events(events(1))
        b.recorder.insert_events(events(2))

    # Each bets once (its second save), loses (the head moved) and saves unpredicted;
    # then neither bets while the other keeps writing.
    assert runs.count(True) == 2 and runs.count(False) == 8, runs
    assert_one_chain(a, 12)


def test_a_writer_bets_again_once_the_other_process_stops_writing(
    two: tuple[Ledger, Ledger], runs: list[bool],
) -> None:
    a, b = two
    a.recorder.insert_events(events(1))
    b.recorder.insert_events(events(1))
    a.recorder.insert_events(events(1))  # lost bet, then unpredicted
    runs.clear()

    for _ in range(4):  # b has stopped
        a.recorder.insert_events(events(1))

    # The first finds the head where a left it and bets again from the next save on.
    assert runs == [False, True, True, True]
    assert_one_chain(a, 7)


def test_positions_stay_fresh_for_sequence_writers_after_predicted_saves(
    two: tuple[Ledger, Ledger],
) -> None:
    a, b = two
    for _ in range(3):
        a.recorder.insert_events(events(1))
    last = a.head()[0]

    single = b.recorder.insert_events(events(1))  # unpredicted: draws from the sequence
    bulk = b.recorder.insert_events(events(BULK_EVENTS))  # draws a run from it
    after = a.recorder.insert_events(events(1))  # a's bet is stale: the head moved

    assert single == [last + 1]
    assert bulk == list(range(last + 2, last + 2 + BULK_EVENTS))
    assert after == [last + 2 + BULK_EVENTS]
    assert_one_chain(a, 5 + BULK_EVENTS)


def test_a_refused_predicted_save_writes_nothing_and_the_next_one_chains_on(
    two: tuple[Ledger, Ledger], runs: list[bool],
) -> None:
    a, _ = two
    oid = uuid.uuid4()
    a.recorder.insert_events(events(1, oid=oid))
    head = a.head()

    with pytest.raises(IntegrityError):  # version 1 of oid is taken
        a.recorder.insert_events([*events(1), *events(1, oid=oid)])
    with pytest.raises(IntegrityError):  # a read guard that moved
        a.recorder.insert_events(events(1), read_guards=[(oid, 0)])
    # Large rows, so answers may be read while the save is still being sent: the caller
    # gets the refusal itself, not psycopg's "pipeline aborted" for the statements after it.
    large = [StoredEvent(originator_id=oid, originator_version=1, topic="tests:Small.Event",
                         state=b'{"pad":"%s"}' % (b"x" * 200_000)), *events(3)]
    with pytest.raises(IntegrityError):
        a.recorder.insert_events(large)
    with pytest.raises(IntegrityError):
        a.recorder.insert_events(large)
    assert a.head() == head

    a.recorder.insert_events(events(1, oid=oid, version=2), read_guards=[])
    assert runs[:2] == [False, True]
    assert_one_chain(a, 2)


def test_the_save_arrays_reach_postgresql_as_psycopg_would_send_plain_lists(
        postgres_url: str) -> None:  # the fixture skips without PostgreSQL
    """The save's typed arrays (one-step binary dumpers) read back as the plain lists
    psycopg would have sent: empty, several items, non-ASCII text, large and extreme values."""
    import psycopg

    from ledger.persistence.pg_save import ByteaArray, Int8Array, TextArray, UuidArray

    ids = [uuid.uuid4(), uuid.uuid4()]
    cases: list[tuple[Any, str]] = [
        (Int8Array([1, -2, 2**63 - 1, -(2**63)]), "bigint[]"), (Int8Array(), "bigint[]"),
        (UuidArray(ids), "uuid[]"), (UuidArray(), "uuid[]"),
        (TextArray(["a:B.C", "Förderung €", ""]), "text[]"), (TextArray(), "text[]"),
        (ByteaArray([b"", b"\x00\xff" * 300, b'{"n":1}']), "bytea[]"), (ByteaArray(), "bytea[]"),
    ]
    with psycopg.connect(PG_DSN) as conn:
        for value, kind in cases:
            typed, plain = conn.execute(
                f"SELECT %b::{kind}, %b::{kind}", (value, list(value))).fetchone() or ()
            assert typed == plain == list(value), kind
            assert conn.execute("SELECT pg_typeof(%b)::text", (value,)).fetchone() == (kind,)


def _backend(ledger: Ledger) -> int:
    """The server process of the connection the next small save uses."""
    small = ledger.chained_recorder._small  # the connection under test
    with small._connection() as conn:
        return int(conn.info.backend_pid)


def test_consecutive_saves_keep_one_connection_and_the_pool_still_serves_others(
    two: tuple[Ledger, Ledger],
) -> None:
    """psycopg's pool hands connections out in turn; the saves keep one (a busy server
    process answers sooner than one idle since the save before last)."""
    a, _ = two
    pids = set()
    for _ in range(6):
        a.recorder.insert_events(events(1))
        pids.add(_backend(a))
    assert len(pids) == 1
    pool = a.chained_recorder.datastore.pool
    with pool.connection() as other, pool.connection() as third:  # the pool's own turn
        assert {other.info.backend_pid, third.info.backend_pid}.isdisjoint(pids)
    assert_one_chain(a, 6)


def test_a_save_whose_connection_died_is_retried_on_a_new_one(
    two: tuple[Ledger, Ledger],
) -> None:
    """The kept connection is given up when it fails; the recorder's retry saves on a
    fresh one, and nothing is written twice."""
    import psycopg

    a, _ = two
    a.recorder.insert_events(events(1))
    killed = _backend(a)
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (killed,))  # waits for it

    a.recorder.insert_events(events(2))
    a.recorder.insert_events(events(1))  # predicted again, on the new connection
    assert _backend(a) != killed
    assert_one_chain(a, 4)


def test_closing_the_ledger_gives_the_kept_connection_back(postgres_url: str) -> None:
    ledger = build_ledger(Settings(database_url=postgres_url))
    ledger.recorder.insert_events(events(1))
    pid = _backend(ledger)
    ledger.close()
    import psycopg

    def gone() -> bool:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone()
        return row is not None and row[0] == 0

    assert wait_until(gone, timeout=5)  # a server process ends a moment after its client
