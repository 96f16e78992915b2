"""A batch of the writer: the aggregates as its decisions see them.

Each decision sees its batch-mates' accepted changes. A refused decision drops
the aggregates it touched; they are reloaded when needed, with the accepted
events of the batch applied again, so a refusal's half-made changes never reach
a batch-mate nor the store (see ledger/writer.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import OriginatorVersionError

from ledger.commands import Command, CommandResult, Context, Decision, handler_for
from ledger.domain.base import Actor, LedgerAggregate
from ledger.domain.dates import check_events_in_window, today


class Memory(Protocol):
    """Where a batch gets aggregates: the writer's memory, then the store."""

    def remembered(self, aggregate_id: UUID) -> LedgerAggregate | None: ...

    def load(self, aggregate_id: UUID) -> LedgerAggregate | None: ...

    def forget(self, aggregate_id: UUID) -> None: ...

    def load_many(self, aggregate_ids: list[UUID]) -> dict[UUID, LedgerAggregate | None]: ...


class Store(Protocol):
    """Where a decision that is never committed gets aggregates (`StoreOnly`)."""

    def get_or_none(self, aggregate_id: UUID) -> LedgerAggregate | None: ...

    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, LedgerAggregate | None]: ...


class StoreOnly:
    """The `Memory` of a decision that is never committed (`LedgerCore.dry_run`): the
    store's aggregates only, as it stands; the writer's memory belongs to its thread."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def remembered(self, aggregate_id: UUID) -> LedgerAggregate | None:
        return None

    def load(self, aggregate_id: UUID) -> LedgerAggregate | None:
        return self._store.get_or_none(aggregate_id)

    def forget(self, aggregate_id: UUID) -> None:
        pass  # nothing remembered

    def load_many(self, aggregate_ids: list[UUID]) -> dict[UUID, LedgerAggregate | None]:
        return self._store.load_many(aggregate_ids)


@dataclass(eq=False)
class Pending:
    """One queued command and, once decided and committed, its answer."""

    actor: Actor
    command: Command
    fingerprint: str  # of the request, for its idempotency key ("" without one)
    window: tuple[date, date]
    done: threading.Event = field(default_factory=threading.Event)
    result: CommandResult | None = None
    error: BaseException | None = None
    # Set while deciding a batch:
    events: list[Any] = field(default_factory=list)
    decision: Decision | None = None
    same_as: Pending | None = None  # a repeat of a batch-mate's idempotency key
    # The caller found no record of its idempotency key before queueing (the read runs
    # in the caller's thread, not the writer's); a batch decided again checks anew.
    key_checked: bool = False

    # Called (on the writer's thread) once the command is answered.
    callbacks: list[Callable[[], None]] = field(default_factory=list)

    def answer(self, result: CommandResult | None = None,
               error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()
        for callback in self.callbacks:
            callback()

    def outcome(self) -> CommandResult:
        """The answer: the result, or the refusal raised."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class Restart(Exception):
    """The batch met a version another process wrote: decide it again on fresh state."""


class Batch(Context):
    """The aggregates as a batch's decisions see them (the handlers' `Context`)."""

    def __init__(self, writer: Memory) -> None:
        self._writer = writer
        self.today = today()
        self.working: dict[UUID, LedgerAggregate] = {}
        self.accepted: dict[UUID, list[Any]] = {}  # accepted events per aggregate, in order
        self.read_versions: dict[UUID, int] = {}  # first version read (read guards)
        self.fresh: set[UUID] = set()  # loaded from the store during this batch
        self.touched: set[UUID] = set()  # by the decision being made
        self.preloaded: dict[UUID, LedgerAggregate | None] = {}
        self.absent: set[UUID] = set()  # looked for in the store, not there

    # -- the Context ------------------------------------------------------------------

    def find(self, aggregate_id: UUID) -> LedgerAggregate | None:
        self.touched.add(aggregate_id)
        return self.working.get(aggregate_id) or self._load(aggregate_id)

    # -- loading ------------------------------------------------------------------------

    def preload(self, aggregate_ids: Iterable[UUID]) -> None:
        """Loads, in one go, the aggregates a decision is about to ask for one by one
        (recipients and file references of a batch of applications; absent ones too)."""
        wanted = [i for i in dict.fromkeys(aggregate_ids)
                  if i not in self.working and i not in self.preloaded
                  and self._writer.remembered(i) is None]
        if len(wanted) > 1:
            self.preloaded.update(self._writer.load_many(wanted))

    def _load(self, aggregate_id: UUID) -> LedgerAggregate | None:
        if aggregate_id in self.preloaded:
            aggregate = self.preloaded.pop(aggregate_id)
            self.fresh.add(aggregate_id)
        else:
            aggregate = self._writer.remembered(aggregate_id)
            if aggregate is None and aggregate_id not in self.absent:
                aggregate = self._writer.load(aggregate_id)
                self.fresh.add(aggregate_id)
        if aggregate is None:
            self.absent.add(aggregate_id)  # not in the store (as of this batch)
        aggregate = self._replay_accepted(aggregate_id, aggregate)
        if aggregate is None:
            return None
        self.working[aggregate_id] = aggregate
        if aggregate_id not in self.accepted and not aggregate.IMMUTABLE:
            self.read_versions.setdefault(aggregate_id, aggregate.version)
        return aggregate

    def _replay_accepted(
        self, aggregate_id: UUID, aggregate: LedgerAggregate | None
    ) -> LedgerAggregate | None:
        """Batch-mates' accepted events on a reloaded aggregate (after a refusal)."""
        for event in self.accepted.get(aggregate_id, ()):
            try:
                aggregate = event.mutate(aggregate)
            except OriginatorVersionError:
                raise Restart from None  # another process wrote it meanwhile
        return aggregate

    # -- deciding -----------------------------------------------------------------------

    def decide(self, pending: Pending) -> None:
        """Decides one command; on refusal, the aggregates it touched are dropped (and
        reloaded when needed) so its half-made changes never reach a batch-mate."""
        self.touched = set()
        try:
            decision = handler_for(pending.command)(pending.command, pending.actor, self)
            check_events_in_window(decision.aggregates, *pending.window)
        except BaseException:
            self.forget(self.touched)
            raise
        events: list[Any] = []
        for aggregate in decision.aggregates:
            events.extend(aggregate.collect_events())
            self.working[aggregate.id] = aggregate
        for aggregate_id in self.touched:  # a handler that changed one it did not name
            stray = self.working.get(aggregate_id)
            if stray is not None and stray.pending_events:
                events.extend(stray.collect_events())
        for event in events:
            self.accepted.setdefault(event.originator_id, []).append(event)
        pending.decision, pending.events = decision, events

    def add(self, pending: Pending, aggregate: LedgerAggregate) -> None:
        """An aggregate the writer adds to a decision (the idempotency record)."""
        events = aggregate.collect_events()
        self.working[aggregate.id] = aggregate
        for event in events:
            self.accepted.setdefault(event.originator_id, []).append(event)
        pending.events.extend(events)

    def forget(self, ids: Iterable[UUID]) -> None:
        for aggregate_id in ids:
            self.working.pop(aggregate_id, None)
            self._writer.forget(aggregate_id)

    def restore(self, aggregate_id: UUID) -> None:
        """An aggregate with accepted events, reloaded after a refusal dropped it."""
        self._load(aggregate_id)

    def remembered_only(self, ids: Iterable[UUID]) -> bool:
        """True if any of these aggregates came from memory, not from the store."""
        return any(i not in self.fresh for i in ids)
