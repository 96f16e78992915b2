"""The integrity keeper moves the verified checkpoint to the head, and follows it."""

from __future__ import annotations

import itertools
import subprocess
import time
from typing import Any

import pytest

from ledger import Ledger, Settings, build_ledger
from ledger.keeper import IntegrityKeeper, catch_up, child_catch_up
from ledger.persistence.integrity import Integrity
from tests.support.scenario import funded_phase, recipients
from tests.support.tamper import Insider


def test_a_step_extends_the_checkpoint_until_it_reaches_the_head(ledger: Ledger) -> None:
    funded_phase(ledger)
    recipients(ledger, 3)
    head = ledger.head()[0]
    keeper = IntegrityKeeper(ledger)
    assert ledger.chained_recorder.read_checkpoint().position == 0

    while keeper.step():
        pass

    checkpoint = ledger.chained_recorder.read_checkpoint()
    assert checkpoint.position == head and checkpoint.verified


def test_the_keeper_thread_follows_new_events(ledger: Ledger) -> None:
    keeper = IntegrityKeeper(ledger, interval=0.05)
    keeper.start()
    try:
        funded_phase(ledger)
        head = ledger.head()[0]
        deadline = time.monotonic() + 10
        while (ledger.chained_recorder.read_checkpoint().position < head
               and time.monotonic() < deadline):
            time.sleep(0.05)
    finally:
        keeper.stop()

    assert ledger.chained_recorder.read_checkpoint().position == head


def test_the_kept_answer_is_the_steps_answer_until_it_is_too_old(ledger: Ledger) -> None:
    funded_phase(ledger)
    keeper = IntegrityKeeper(ledger, max_age=0.3)
    assert keeper.current() is None  # no step yet

    while keeper.step():
        pass
    kept = keeper.current()

    assert kept is not None and kept == ledger.integrity()  # at the head: nothing moved
    time.sleep(0.3)
    assert keeper.current() is None


def test_the_kept_answer_never_claims_more_than_was_verified(ledger: Ledger) -> None:
    funded_phase(ledger)
    keeper = IntegrityKeeper(ledger, max_age=60)
    while keeper.step():
        pass
    recipients(ledger, 3)  # new links the kept answer has not seen

    kept = keeper.current()

    assert kept is not None
    assert kept.checkpoint.position == kept.head_position < ledger.head()[0]
    assert kept.checkpoint.position <= ledger.chained_recorder.read_checkpoint().position
    keeper.step()
    moved = keeper.current()
    assert moved is not None and moved.checkpoint.position == ledger.head()[0]


def test_the_keeper_steps_back_to_back_only_while_more_than_a_step_behind(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server started on a long log catches up at once; under a stream of commands the
    few links of each interval wait for the next step instead of a step each."""
    import ledger.persistence.integrity as integrity_module

    monkeypatch.setattr(integrity_module, "LINKS_PER_CALL", 5)
    monkeypatch.setattr("ledger.keeper.LINKS_PER_CALL", 5)
    funded_phase(ledger)
    recipients(ledger, 12)
    keeper = IntegrityKeeper(ledger)
    far = []
    while keeper.step():
        far.append(keeper.far_behind())

    assert far[0] and not far[-1]  # first more than a step behind, at the end less
    assert far == sorted(far, reverse=True)  # back to back, then paced
    assert ledger.chained_recorder.read_checkpoint().position == ledger.head()[0]


def _watched(ledger: Ledger, keeper: IntegrityKeeper) -> list[tuple[int | None, bool]]:
    """Records each `integrity` call's limit and whether a catch-up child ran meanwhile."""
    calls: list[tuple[int | None, bool]] = []
    integrity = ledger.integrity

    def watched(digest: Any = None, *, limit: int | None = None) -> Integrity:
        child = keeper.child
        calls.append((limit, child is not None and child.poll() is None))
        return integrity(digest, limit=limit)

    ledger.integrity = watched  # type: ignore[method-assign]  # a spy on the real call
    return calls


def test_far_behind_a_child_process_catches_up_while_the_thread_only_reads(
    sql_database_url: str,
) -> None:
    """A server started on a long log does not hash in its own interpreter: a child
    process extends the checkpoint to the head, the keeper's thread reads it meanwhile."""
    ledger = build_ledger(Settings(database_url=sql_database_url))
    try:
        funded_phase(ledger)
        recipients(ledger, 12)
        head = ledger.head()[0]
        started: list[subprocess.Popen[bytes]] = []
        start = child_catch_up(Settings(database_url=sql_database_url))
        assert start is not None

        def catch_up() -> subprocess.Popen[bytes]:
            started.append(start())
            return started[-1]

        keeper = IntegrityKeeper(ledger, interval=0.05, catch_up=catch_up, catch_up_from=5)
        calls = _watched(ledger, keeper)
        keeper.start()
        try:
            deadline = time.monotonic() + 60
            while ((ledger.chained_recorder.read_checkpoint().position < head
                    or not started or started[0].poll() is None)
                   and time.monotonic() < deadline):
                time.sleep(0.05)
        finally:
            keeper.stop()
        checkpoint = ledger.chained_recorder.read_checkpoint()

        assert checkpoint.position == head and checkpoint.verified
        assert len(started) == 1 and started[0].wait(30) == 0
        assert any(running for _, running in calls)  # the thread watched the child work
        assert all(limit == 0 for limit, running in calls if running)  # and hashed nothing
    finally:
        ledger.close()


def test_catch_up_stops_at_a_broken_link(sql_database_url: str) -> None:
    ledger = build_ledger(Settings(database_url=sql_database_url))
    try:
        funded_phase(ledger)
        recipients(ledger, 6)
        insider = Insider(sql_database_url)
        target = insider.positions()[-3]
        insider.alter_event(target)

        answer = catch_up(ledger, step=4)

        assert not answer.checkpoint.verified and answer.checkpoint.broken_at == target
        assert answer.checkpoint.position < target
    finally:
        ledger.close()


def test_catch_up_extends_the_checkpoint_a_step_at_a_time_to_the_head(ledger: Ledger) -> None:
    funded_phase(ledger)
    recipients(ledger, 6)
    head = ledger.head()[0]
    seen: list[int] = []
    integrity = ledger.integrity

    def watched(digest: Any = None, *, limit: int | None = None) -> Integrity:
        answer = integrity(digest, limit=limit)
        seen.append(answer.checkpoint.position)
        return answer

    ledger.integrity = watched  # type: ignore[method-assign]  # a spy on the real call

    answer = catch_up(ledger, step=4)

    assert answer.checkpoint.verified and answer.checkpoint.position == head
    moved = sorted(set(seen))
    assert moved[0] == 0 and moved[-1] == head
    assert all(b - a <= 4 for a, b in itertools.pairwise(moved))  # never more than a step


def test_memory_stores_catch_up_in_the_thread() -> None:
    assert child_catch_up(Settings(database_url="memory://")) is None
