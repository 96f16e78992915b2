"""The writer: one thread per Ledger that decides queued commands in order and
commits them in groups.

Commands of one process never race each other for an aggregate: callers queue
them (a synchronous caller that finds the queue empty and nobody committing decides and
commits its own command on its own thread, under the same lock, which spares it two
thread switches), and the writer takes everything queued (up to `MAX_BATCH`), decides each
in turn against the aggregates as the ones before it left them, and commits all
accepted decisions in one transaction — group commit, as a database's WAL does.
A refusal answers its own caller and leaves its batch-mates alone (the
aggregates it touched are reloaded and its batch-mates' events re-applied).
Nobody is answered before the commit, so an acknowledged command is durable.

Between processes (several `ledger serve` workers, a CLI import beside a
server) optimistic concurrency stays the guard: a batch that loses a race (a
version another process wrote first, or a read guard that moved) is decided
again on fresh state. The writer keeps the aggregates it committed in memory
and trusts them without re-reading the store; the commit checks that trust
(versions and read guards are compared in the transaction), and a refusal
decided on remembered state is decided once more on fresh state before it is
answered, so a stale memory can neither write nor refuse wrongly.
"""

from __future__ import annotations

import copy
import dataclasses
import queue
import random
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from ledger.batch import Batch, Pending, Restart
from ledger.commands import CommandResult
from ledger.domain.base import LedgerAggregate
from ledger.domain.idempotency import IdempotencyRecord, check_same_request
from ledger.errors import ConcurrencyConflict, IdempotencyMismatch, LedgerError

if TYPE_CHECKING:
    from ledger.core import LedgerCore

log = structlog.get_logger("ledger.writer")
T = TypeVar("T")

MAX_BATCH = 256  # commands per transaction
MAX_ATTEMPTS = 50  # commits of one batch lost to other processes before giving up
IDLE_SECONDS = 2.0  # the thread ends after this long without a command


class Writer:
    """Takes commands from any thread; decides and commits them one batch at a time."""

    def __init__(self, ledger: LedgerCore, *, cache_size: int = 5000) -> None:
        self._ledger = ledger
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._memory: OrderedDict[UUID, LedgerAggregate] = OrderedDict()
        self._cache_size = cache_size
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # Held while a batch is decided and committed: by the writer thread, or by a caller
        # of `execute` that finds the queue empty and nobody committing (it then commits
        # its own command alone, without the two thread switches of a hand-over).
        self._committing = threading.Lock()
        self._committer: threading.Thread | None = None  # the thread holding it
        self._closed = False

    # -- the callers' side ---------------------------------------------------------------

    def execute(self, pending: Pending) -> CommandResult:
        """Decides and commits the command on this thread when nobody is committing and
        nothing waits; otherwise queues it for the writer thread and waits for its answer.
        Either way the batch is decided in order under `_committing`."""
        if threading.current_thread() is self._committer:
            raise RuntimeError("a command may not issue another command")
        if self._queue.empty() and self._committing.acquire(blocking=False):
            try:
                if self._closed:
                    raise RuntimeError("the ledger is closed")
                self._commit_safely([pending])
            finally:
                self._committing.release()
        else:
            self.submit(pending)
        pending.done.wait()
        return pending.outcome()

    def submit(self, pending: Pending) -> None:
        """Queues the command; `pending.done` (and its callbacks) tell when it is answered."""
        if threading.current_thread() in (self._thread, self._committer):
            raise RuntimeError("a command may not issue another command")
        with self._start_lock:  # the thread exits when idle; it checks the queue under it
            if self._closed:
                raise RuntimeError("the ledger is closed")
            self._queue.put(pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ledger-writer", daemon=True)
                self._thread.start()

    def close(self) -> None:
        with self._start_lock:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    # -- the writer's side ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                # Idle: end the thread, so an unused Ledger holds no thread (nor, through
                # it, its connections); the next submit starts a new one.
                with self._start_lock:
                    if self._queue.empty():
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            with self._committing:
                self._commit_safely(batch)

    def _commit_safely(self, batch: list[Pending]) -> None:
        """Decides and commits `batch` (the caller holds `_committing`)."""
        self._committer = threading.current_thread()
        try:
            self._commit(batch)
        except BaseException as exc:  # never leave a caller waiting
            log.exception("writer_failed", commands=len(batch))
            self._memory.clear()
            for pending in batch:
                if not pending.done.is_set():
                    pending.answer(error=exc)
        finally:
            self._committer = None

    def _commit(self, batch: list[Pending]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            todo = [p for p in batch if not p.done.is_set()]
            if not todo:
                return
            if attempt >= 3 and len(todo) > 1:
                # Keeps losing to another process: one command per transaction, so
                # each competes on its own.
                for pending in todo:
                    self._commit([pending])
                return
            try:
                if self._attempt(todo, retry=attempt > 0):
                    return
            except Restart:
                pass
            self._memory.clear()
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # jitter, not security
        for pending in batch:
            if not pending.done.is_set():
                pending.answer(error=ConcurrencyConflict(
                    f"{pending.command.COMMAND} lost {MAX_ATTEMPTS} concurrent races; retry"))

    def _attempt(self, todo: list[Pending], *, retry: bool) -> bool:
        """Decides and commits `todo`; False if the commit lost a race."""
        batch = Batch(self)
        accepted: list[Pending] = []
        keys: dict[UUID, Pending] = {}
        for pending in todo:
            # An earlier attempt's answer is void: that batch was not written, and this
            # decision, on fresher state, may differ (refused then, accepted now).
            pending.events, pending.decision, pending.same_as = [], None, None
            pending.result, pending.error = None, None
            try:
                if self._idempotent(pending, keys, retry=retry):
                    continue
                self._decide(batch, pending)
            except Restart:
                raise
            except LedgerError as exc:
                pending.error = exc
                self._answered_meanwhile(pending)
                continue
            except Exception as exc:
                log.exception("command_failed", command=pending.command.COMMAND)
                pending.error = exc
                continue
            accepted.append(pending)
            key = _key_of(pending)
            if key is not None:  # the key is this command's: a twin answers as it
                keys[key] = pending
        events = [e for p in accepted for e in p.events]
        if events:
            written = set(batch.accepted)
            for aggregate_id in written - set(batch.working):
                batch.restore(aggregate_id)  # dropped by a refused batch-mate
            guards = [(i, v) for i, v in batch.read_versions.items() if i not in written]
            processing: ProcessingEvent[UUID] = ProcessingEvent()
            processing.events.extend(events)
            processing.aggregates.update({i: batch.working[i] for i in written})
            if guards:
                processing.saved_kwargs["read_guards"] = guards
            try:
                recordings = self._ledger.record(processing)
            except IntegrityError:
                log.debug("batch_retried", commands=len(todo))
                return False
            positions = iter(r.notification.id for r in recordings)
            for pending in accepted:
                pending.result = self._result(pending, [next(positions) for _ in pending.events])
            for aggregate_id in written:
                self._remember(batch.working[aggregate_id])
        for pending in todo:
            if pending.same_as is not None:
                first = pending.same_as
                if first.result is not None:
                    pending.result = _replayed(first.result)
                else:
                    pending.error = first.error
            pending.answer(pending.result, pending.error)
        return True

    def _decide(self, batch: Batch, pending: Pending) -> None:
        try:
            batch.decide(pending)
        except LedgerError:
            if not batch.remembered_only(batch.touched):
                raise
            # Refused on remembered state: decide once more on the store's.
            batch.decide(pending)
        actor = pending.actor
        if actor.idempotency_key is not None:
            assert pending.decision is not None
            batch.add(pending, IdempotencyRecord.start(
                IdempotencyRecord.Recorded, actor,
                id=IdempotencyRecord.id_for(actor.user, actor.idempotency_key),
                effective_date=batch.today, key=actor.idempotency_key,
                command=pending.command.COMMAND, fingerprint=pending.fingerprint,
                result=pending.decision.ids))

    def _idempotent(self, pending: Pending, keys: dict[UUID, Pending], *, retry: bool) -> bool:
        """True if the command repeats an idempotency key (answered from the first).

        `keys` holds the batch's commands accepted so far, by their key's record: a command
        refused earlier in the batch never claimed its key (nothing of it is written), so
        the next request with that key — another command, or the same one — is decided on
        its own, as it would be in a batch of its own."""
        actor = pending.actor
        if actor.idempotency_key is None:
            return False
        record_id = IdempotencyRecord.id_for(actor.user, actor.idempotency_key)
        first = keys.get(record_id)
        if first is not None:
            check_same_request(actor.idempotency_key, first.fingerprint, first.command.COMMAND,
                               pending.fingerprint)
            pending.same_as = first
            return True
        if pending.key_checked and not retry:
            return False  # a record written since fails the commit, and the retry finds it
        result = self._ledger.replay(actor.user, actor.idempotency_key, pending.fingerprint)
        if result is None:
            return False
        pending.result = result
        return True

    def _answered_meanwhile(self, pending: Pending) -> None:
        """A refused command with an idempotency key: its twin (same user and key) may
        have been committed since the key was last looked up — by this process in an
        earlier batch, or by another — and refused the repeat (an approval, say: "it is
        approved"). The repeat's answer is the twin's then, not the refusal. A refusal of
        the key itself (used for another request) was read from the store just now."""
        actor = pending.actor
        if actor.idempotency_key is None or isinstance(pending.error, IdempotencyMismatch):
            return
        try:
            first = self._ledger.replay(actor.user, actor.idempotency_key, pending.fingerprint)
        except LedgerError as exc:  # the key answered another request: that is the answer
            pending.error = exc
            return
        if first is not None:
            pending.result, pending.error = first, None

    def _result(self, pending: Pending, positions: list[int]) -> CommandResult:
        decision = pending.decision
        assert decision is not None
        # A copy: the next batch may change the remembered aggregate while the caller reads.
        subject = copy.deepcopy(decision.subject) if decision.subject is not None else None
        return CommandResult(ids=decision.ids, position=max(positions, default=0),
                             subject=subject)

    # -- memory ---------------------------------------------------------------------------

    def remembered(self, aggregate_id: UUID) -> LedgerAggregate | None:
        aggregate = self._memory.get(aggregate_id)
        if aggregate is not None:
            self._memory.move_to_end(aggregate_id)
        return aggregate

    def load(self, aggregate_id: UUID) -> LedgerAggregate | None:
        return self._ledger.get_or_none(aggregate_id)

    def load_many(self, aggregate_ids: list[UUID]) -> dict[UUID, LedgerAggregate | None]:
        return self._ledger.load_many(aggregate_ids)

    def forget(self, aggregate_id: UUID) -> None:
        self._memory.pop(aggregate_id, None)

    def _remember(self, aggregate: LedgerAggregate) -> None:
        self._memory[aggregate.id] = aggregate
        self._memory.move_to_end(aggregate.id)
        while len(self._memory) > self._cache_size:
            self._memory.popitem(last=False)


def _key_of(pending: Pending) -> UUID | None:
    """The id of the record of the command's idempotency key (per user), if it has one."""
    key = pending.actor.idempotency_key
    return None if key is None else IdempotencyRecord.id_for(pending.actor.user, key)


def _replayed(result: CommandResult) -> CommandResult:
    return dataclasses.replace(result, replayed=True)
