"""The integrity keeper moves the verified checkpoint to the head, and follows it."""

from __future__ import annotations

import time

import pytest

from ledger import Ledger
from ledger.keeper import IntegrityKeeper
from tests.support.scenario import funded_phase, recipients


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
