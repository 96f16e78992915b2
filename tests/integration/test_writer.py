"""The writer: group commit within a process, optimistic concurrency between processes.

Races run real threads and real processes against PostgreSQL and SQLite.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from ledger import Ledger, Settings, build_ledger
from ledger.batch import Pending
from ledger.commands import (
    ApproveApplication,
    RequestDrawdown,
    RevokeApplication,
    SubmitApplication,
)
from ledger.errors import (
    BudgetExceeded,
    DuplicateApplication,
    IdempotencyMismatch,
    LedgerError,
    OverDrawdown,
)
from tests.integration.test_concurrency import _url
from tests.support.scenario import APPROVER, CLERK, approved, funded_phase, money, recipients

CHILD = Path(__file__).with_name("writer_child.py")
ROOT = Path(__file__).parents[2]


@pytest.fixture
def ledger(sql_database_url: str) -> Iterator[Ledger]:
    app = build_ledger(Settings(database_url=sql_database_url))
    yield app
    app.close()


def _submitted(ledger: Ledger, phase_id: str, count: int, amount: str = "150.00") -> list[str]:
    return [ledger.execute(CLERK, SubmitApplication(
        phase_id=phase_id, recipient_id=rid, requested_amount=money(amount),
        submitted_on=date(2020, 2, 1))).ids["application_id"]
        for rid in recipients(ledger, count)]


def test_sixteen_threads_approve_in_one_phase_without_a_single_retry(ledger: Ledger) -> None:
    """Commands of one process never race each other: every approval that fits is
    accepted, every other one refused for the budget, none lost to a conflict."""
    f = funded_phase(ledger, budget="1000.00", envelope="1000.00")
    ids = _submitted(ledger, f.phase_id, 16)
    errors: list[LedgerError] = []
    barrier = threading.Barrier(16)

    def approve(application_id: str) -> None:
        barrier.wait()
        try:
            ledger.execute(APPROVER, ApproveApplication(
                application_id=application_id, approved_amount=money("150.00"),
                decided_on=date(2020, 3, 1)))
        except LedgerError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 10 and all(isinstance(e, BudgetExceeded) for e in errors)
    assert ledger.phase(f.phase_id).committed == money("900.00")
    assert ledger.verify_chain().verified


def test_a_refused_command_leaves_its_batch_mates_alone(ledger: Ledger) -> None:
    """Queued together, a refusal between two accepted submissions to the same
    phase: both are written, the refused one leaves no trace."""
    f = funded_phase(ledger)
    a, b = recipients(ledger, 2)
    commands = [SubmitApplication(phase_id=f.phase_id, recipient_id=rid,
                                  requested_amount=money("10.00"),
                                  submitted_on=date(2020, 2, 1)) for rid in (a, a, b)]
    outcomes: list[object] = [None] * 3
    barrier = threading.Barrier(3)

    def run(n: int) -> None:
        barrier.wait()
        time.sleep(0.01 * n)  # in this order, most likely in one batch
        try:
            outcomes[n] = ledger.execute(CLERK, commands[n]).ids["application_id"]
        except LedgerError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(outcomes[1], DuplicateApplication)
    phase = build_ledger(Settings(database_url=_url(ledger))).phase(f.phase_id)
    assert sorted(phase.open_applications) == sorted([a, b])
    assert [len(v) for v in phase.open_applications.values()] == [1, 1]


def test_a_refusal_on_remembered_state_is_decided_again_on_the_stores(ledger: Ledger) -> None:
    """Another process frees the envelope; this process still remembers it full.
    Its next approval must not be refused on that stale memory."""
    f = funded_phase(ledger, budget="1000.00", envelope="1000.00")
    first, second = recipients(ledger, 2)
    first_id = approved(ledger, f, first, "1000.00")
    (second_id,) = [ledger.execute(CLERK, SubmitApplication(
        phase_id=f.phase_id, recipient_id=second, requested_amount=money("500.00"),
        submitted_on=date(2020, 2, 1))).ids["application_id"]]
    other = build_ledger(Settings(database_url=_url(ledger)))
    other.execute(APPROVER, RevokeApplication(application_id=first_id, reason="fraud",
                                              decided_on=date(2020, 3, 5)))
    other.close()
    ledger.execute(APPROVER, ApproveApplication(
        application_id=second_id, approved_amount=money("500.00"), decided_on=date(2020, 3, 6)))
    assert ledger.phase(f.phase_id).committed == money("500.00")


def test_two_processes_racing_approvals_fill_the_envelope_exactly(ledger: Ledger) -> None:
    """20 approvals of 150.00 against 1,000.00 from two processes of 10 threads each:
    exactly 6 accepted, 14 refused for the budget, none lost to a conflict."""
    f = funded_phase(ledger, budget="1000.00", envelope="1000.00")
    ids = _submitted(ledger, f.phase_id, 20)
    url = _url(ledger)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen([sys.executable, str(CHILD), "approve", url, *ids[n::2]],
                                 stdout=subprocess.PIPE, text=True, env=env)
                for n in range(2)]
    lines = [line for child in children
             for line in child.communicate(timeout=120)[0].splitlines()]
    assert all(child.returncode == 0 for child in children)
    accepted = [line for line in lines if line.startswith("ok ")]
    refused = [line for line in lines if line.startswith("refused ")]
    assert len(accepted) == 6, lines
    assert len(refused) == 14 and all(" budget_exceeded " in r for r in refused), refused
    fresh = build_ledger(Settings(database_url=url))
    assert fresh.phase(f.phase_id).committed == money("900.00")
    assert sum(fresh.application(i).status == "approved" for i in ids) == 6
    assert fresh.verify_chain().verified
    fresh.close()


def test_a_process_killed_mid_burst_keeps_every_acknowledged_command_and_no_half(
        ledger: Ledger) -> None:
    """SIGKILL while 8 threads submit: every acknowledged application is in the log with
    its phase event; no application is written without its phase event or vice versa."""
    f = funded_phase(ledger)
    rids = recipients(ledger, 400)
    url = _url(ledger)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(2):
        todo = rids[round_ * 200:(round_ + 1) * 200]
        child = subprocess.Popen([sys.executable, str(CHILD), "submit", url, f.phase_id, *todo],
                                 stdout=subprocess.PIPE, text=True, env=env)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        acknowledged: dict[str, str] = {}
        while len(acknowledged) < 20:
            _, application_id, recipient_id = child.stdout.readline().split()
            acknowledged[application_id] = recipient_id
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        for line in rest.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ack":
                acknowledged[parts[1]] = parts[2]

        fresh = build_ledger(Settings(database_url=url))
        phase = fresh.phase(f.phase_id)
        held = {a for apps in phase.open_applications.values() for a in apps}
        assert set(acknowledged) <= held  # nothing acknowledged is lost
        for application_id in held:  # every phase event has its application, and back
            assert fresh.application(application_id).recipient_id in todo + rids[:round_ * 200]
        assert fresh.verify_chain().verified
        fresh.close()


def test_a_batch_of_applications_reads_its_recipients_and_references_at_once(
        ledger: Ledger) -> None:
    """The batch preloads recipients and the ids of file references in one query: the
    aggregates come out as the repository builds them, and absent ones as absent, so
    a used reference is still refused, with its row."""
    from ledger.commands import NewApplication, SubmitApplications
    from ledger.domain.recipient import Recipient
    from ledger.errors import DuplicateReference

    f = funded_phase(ledger)
    a, b, c = recipients(ledger, 3)
    first = ledger.execute(CLERK, SubmitApplication(
        phase_id=f.phase_id, recipient_id=a, requested_amount=money("10.00"),
        submitted_on=date(2020, 2, 1), reference="AZ-1")).ids["application_id"]
    ids = [Recipient.id_for(b), Recipient.id_for(c), UUID(first), uuid4()]
    loaded = ledger.load_many(ids)
    for aggregate_id in ids[:3]:
        built = ledger.repository.get(aggregate_id)
        assert loaded[aggregate_id] is not None
        assert vars(loaded[aggregate_id]) == vars(built)
    assert loaded[ids[3]] is None

    rows = [NewApplication(f.phase_id, b, money("10.00"), date(2020, 2, 1), "AZ-2"),
            NewApplication(f.phase_id, c, money("10.00"), date(2020, 2, 1), "az-1")]
    with pytest.raises(DuplicateReference, match="application 2"):
        ledger.execute(CLERK, SubmitApplications(applications=rows))
    rows[1] = NewApplication(f.phase_id, c, money("10.00"), date(2020, 2, 1), "AZ-3")
    created = ledger.execute(CLERK, SubmitApplications(applications=rows))
    assert len(created.ids["application_ids"].split(",")) == 2


def _batch(ledger: Ledger, *prepared: object) -> list[Pending]:
    """Decides and commits `prepared` as one batch of the writer, on this thread."""
    batch = [p for p in prepared if isinstance(p, Pending)]
    assert len(batch) == len(prepared)
    with ledger.writer._committing:  # as the writer thread holds it for a batch
        ledger.writer._commit_safely(batch)
    return batch


def test_a_refusal_undone_by_a_lost_race_answers_what_was_written(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch: a submission (accepted) and an approval the full envelope refuses. Its
    commit loses to another process, which revoked an award meanwhile; decided again on
    fresh state, the approval fits and is written — so it must answer accepted, not the
    first attempt's refusal (a client told "refused" for a change that took effect)."""
    f = funded_phase(ledger, budget="1000.00", envelope="1000.00")
    a, b, c = recipients(ledger, 3)
    full = approved(ledger, f, a, "1000.00")
    (waiting,) = _submitted_for(ledger, f.phase_id, [b])
    other = build_ledger(Settings(database_url=_url(ledger)))
    record, commits = ledger.record, []

    def another_process_first(processing: object) -> object:
        if not commits:  # between this batch's decisions and its commit
            other.execute(APPROVER, RevokeApplication(application_id=full, reason="fraud",
                                                      decided_on=date(2020, 3, 5)))
        commits.append(processing)
        return record(processing)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "record", another_process_first)
    submit, approve = _batch(ledger, ledger.prepare(CLERK, SubmitApplication(
        phase_id=f.phase_id, recipient_id=c, requested_amount=money("10.00"),
        submitted_on=date(2020, 3, 6))), ledger.prepare(APPROVER, ApproveApplication(
            application_id=waiting, approved_amount=money("500.00"),
            decided_on=date(2020, 3, 6))))
    other.close()

    assert len(commits) == 2  # the first commit lost the race, the second was written
    fresh = build_ledger(Settings(database_url=_url(ledger)))
    assert fresh.application(waiting).status == "approved"
    assert fresh.phase(f.phase_id).committed == money("500.00")
    assert submit.outcome().ids["application_id"]
    assert approve.outcome().ids["application_id"] == waiting  # not BudgetExceeded
    fresh.close()


def test_a_repeated_key_refused_after_its_twin_committed_answers_as_the_twin(
        ledger: Ledger) -> None:
    """Two requests with one idempotency key, each prepared (no record of the key yet)
    before the other committed, decided in two batches: the second approval finds the
    application approved — it must answer the first's answer, not "it is approved"."""
    f = funded_phase(ledger)
    (application_id,) = _submitted(ledger, f.phase_id, 1)
    keyed = dataclasses.replace(APPROVER, idempotency_key="approve-once")
    command = ApproveApplication(application_id=application_id,
                                 approved_amount=money("150.00"), decided_on=date(2020, 3, 1))
    first, second = ledger.prepare(keyed, command), ledger.prepare(keyed, command)

    (one,) = _batch(ledger, first)
    (two,) = _batch(ledger, second)

    assert two.outcome().ids == one.outcome().ids
    assert two.outcome().replayed and not one.outcome().replayed
    assert two.outcome().position == one.outcome().position
    other = dataclasses.replace(command, approved_amount=money("140.00"))
    (three,) = _batch(ledger, Pending(
        actor=keyed, command=other, fingerprint=other.fingerprint(keyed.user),
        window=ledger.business_dates(), key_checked=True))
    with pytest.raises(IdempotencyMismatch):  # the same key for another request
        three.outcome()


def test_a_key_refused_in_a_batch_is_free_for_the_next_request_with_it(
        ledger: Ledger) -> None:
    """One batch: a drawdown the award refuses, then two of another amount, all with one
    key. The refused one claimed nothing (nothing of it is written), so the second is
    decided on its own and the third repeats it — not "this key was used for a
    different request", which named a request never recorded."""
    f = funded_phase(ledger)
    (rid,) = recipients(ledger, 1)
    application_id = approved(ledger, f, rid, "150.00")
    keyed = dataclasses.replace(CLERK, idempotency_key="draw-once")
    too_much, fits = (RequestDrawdown(application_id=application_id, amount=money(amount),
                                      requested_on=date(2020, 4, 1))
                      for amount in ("1000.00", "100.00"))

    refused, first, twin = _batch(ledger, ledger.prepare(keyed, too_much),
                                  ledger.prepare(keyed, fits), ledger.prepare(keyed, fits))

    with pytest.raises(OverDrawdown):
        refused.outcome()
    assert twin.outcome().ids == first.outcome().ids
    assert twin.outcome().replayed and not first.outcome().replayed
    assert [d.amount for d in ledger.application(application_id).drawdowns.values()] == [
        money("100.00")]


def _submitted_for(ledger: Ledger, phase_id: str, rids: list[str]) -> list[str]:
    return [ledger.execute(CLERK, SubmitApplication(
        phase_id=phase_id, recipient_id=rid, requested_amount=money("500.00"),
        submitted_on=date(2020, 2, 1))).ids["application_id"] for rid in rids]


def test_on_sqlite_writers_wait_for_the_write_lock_as_long_as_sqlite_waits(
        tmp_path: Path) -> None:
    """SQLite has one writer at a time across processes (a projection batch, an import, a
    replay), and eventsourcing's pool hands its one writer connection to one thread at a
    time: a command waiting on SQLite's lock held the connection while the integrity
    keeper's checkpoint waited for it, and gave up after the pool's 5 s where SQLite waits
    30 s (503 storage_unavailable for valid commands, found by an audit under load). And
    readers, who pass the pool's semaphore too, are not held up by writers waiting."""
    path = tmp_path / "ledger.db"
    ledger = build_ledger(Settings(database_url=f"sqlite:///{path}"))
    try:
        phase_id = funded_phase(ledger).phase_id
        (recipient,) = recipients(ledger, 1)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process's write transaction
        done: dict[str, object] = {}

        def submit() -> None:
            try:
                done["command"] = ledger.execute(CLERK, SubmitApplication(
                    phase_id=phase_id, recipient_id=recipient,
                    requested_amount=money("150.00"), submitted_on=date(2020, 2, 1)))
            except Exception as error:  # the assertion names it
                done["command"] = error

        def check() -> None:
            try:
                done["integrity"] = ledger.integrity()
            except Exception as error:  # the assertion names it
                done["integrity"] = error

        threads = [threading.Thread(target=submit)]
        threads[0].start()
        time.sleep(0.5)  # the command holds the writer connection, waiting on the lock
        threads.append(threading.Thread(target=check))
        threads[1].start()
        time.sleep(1.0)
        started = time.monotonic()
        ledger.head()  # a reader passes the waiting writers (WAL: SQLite lets it)
        read_in = time.monotonic() - started
        time.sleep(5.0)  # beyond the pool's 5 s, within SQLite's 30 s
        blocker.execute("ROLLBACK")
        blocker.close()
        for thread in threads:
            thread.join(timeout=30)

        assert not isinstance(done["command"], Exception), done["command"]
        assert not isinstance(done["integrity"], Exception), done["integrity"]
        assert ledger.head()[0] == done["command"].position  # type: ignore[attr-defined]
        assert read_in < 1.0, read_in
    finally:
        ledger.close()
