"""The Ledger application: `execute(actor, command)`, the chain, and loading.

Every command is data (ledger/commands/model.py) with one handler that decides
it from the aggregates it loads. `execute` hands it to the writer
(ledger/writer.py), which decides queued commands in order and commits them in
groups; a batch that loses an optimistic-concurrency race to another process is
decided again on fresh state, which re-checks every invariant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore, JSONTranscoder, Recording

from ledger.batch import Batch, Pending, StoreOnly
from ledger.commands import Command, CommandResult
from ledger.domain.base import Actor, LedgerAggregate
from ledger.domain.dates import business_dates_in, check_in_window, today, years_after
from ledger.domain.grant import Grant
from ledger.domain.idempotency import IdempotencyRecord, check_same_request
from ledger.domain.phase import Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient
from ledger.errors import NotFound
from ledger.persistence.chain import ChainedRecorder, ChainReport, Digest
from ledger.persistence.integrity import Integrity, full_walk, integrity
from ledger.persistence.snapshots import VerifiedSnapshotStore
from ledger.persistence.transcodings import register_ledger_transcodings
from ledger.persistence.watch import LogWatch
from ledger.writer import Writer

log = structlog.get_logger("ledger")

A = TypeVar("A", bound=Aggregate)


class SerialisedCacheRepository(Repository[UUID]):
    """eventsourcing 9.5.6 deep-copies a cached aggregate after releasing its
    fast-forward lock, so a second thread fast-forwarding the same aggregate can
    mutate it mid-copy ("dictionary changed size during iteration"). Getting
    one aggregate is short; serialise it per aggregate (striped locks)."""

    STRIPES = 64

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        with self._stripes[hash(aggregate_id) % self.STRIPES]:
            return super().get(aggregate_id, **kwargs)


class LedgerCore(Application[UUID]):
    """Shared machinery of the command mixins (see ledger/commands)."""

    name = "Ledger"
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }
    # The phase takes an event per application decision: snapshot it.
    snapshotting_intervals = {Phase: 500}  # noqa: RUF012  # eventsourcing's class attribute

    def construct_snapshot_store(self) -> EventStore[UUID]:
        # Snapshots lie outside the chain: used only as far as the chained events agree.
        return VerifiedSnapshotStore(super().construct_snapshot_store(), events=self.events)

    def construct_repository(self) -> Repository[UUID]:
        base = super().construct_repository()
        return SerialisedCacheRepository(
            event_store=base.event_store,
            snapshot_store=base.snapshot_store,
            cache_maxsize=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0) or None,
            fastforward=base.fastforward,
            fastforward_skipping=base.fastforward_skipping,
            deepcopy_from_cache=base.deepcopy_from_cache,
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    # -- commands ------------------------------------------------------------

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The one writer of this Ledger (its thread starts with the first command).
        self.writer = Writer(
            self, cache_size=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 5000))
        self._business_window: tuple[float, tuple[date, date]] | None = None
        self._watch: LogWatch | None = None  # log_watch()
        self._watch_lock = threading.Lock()

    def execute(self, actor: Actor, command: Command) -> CommandResult:
        """Decides and records one command; its answer once it is durable.

        The command joins the writer's queue; the writer decides it after those
        queued before it and commits it with them (ledger/writer.py). Refusals
        raise the domain's `LedgerError`; nothing of a refused command is written.
        """
        prepared = self.prepare(actor, command)
        if isinstance(prepared, CommandResult):
            return prepared
        result = self.writer.execute(prepared)
        log.debug("command_recorded", command=command.COMMAND, position=result.position,
                  replayed=result.replayed, **result.ids)
        return result

    def dry_run(self, actor: Actor, command: Command) -> None:
        """Decides the command on the store as it stands and writes nothing: raises the
        refusal `execute` would raise now (`ledger import` checks a file with it). A
        concurrent writer may change the answer; `execute` decides again when it saves."""
        prepared = self.prepare(actor, command)
        if isinstance(prepared, Pending):
            Batch(StoreOnly(self)).decide(prepared)

    def prepare(self, actor: Actor, command: Command) -> Pending | CommandResult:
        """A command ready for the writer (`writer.submit`), or the first answer to its
        repeated idempotency key (which reads the store). Raises the refusals that need
        no aggregate: business dates outside the window (I13), a reused key."""
        window = self.business_dates()
        for field_name, business_date in business_dates_in(command):
            check_in_window(business_date, *window, what=field_name)
        fingerprint = ""  # only a key is checked against it (and stored with it)
        if actor.idempotency_key is not None:
            fingerprint = command.fingerprint(actor.user)
            replayed = self.replay(actor.user, actor.idempotency_key, fingerprint)
            if replayed is not None:
                return replayed
        return Pending(actor=actor, command=command, fingerprint=fingerprint, window=window,
                       key_checked=actor.idempotency_key is not None)

    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, LedgerAggregate | None]:
        """Aggregates with short histories (recipients, grants), many at once: one query
        on the SQL stores instead of one per aggregate; None for those that do not exist.
        Folds the events without snapshots: not for phases or programmes."""
        select = getattr(self.recorder, "select_events_of", None)
        if select is None:
            return {i: self.get_or_none(i) for i in aggregate_ids}
        found: dict[UUID, LedgerAggregate | None] = dict.fromkeys(aggregate_ids)
        for stored in select(list(aggregate_ids)):
            event: Any = self.mapper.to_domain_event(stored)
            found[stored.originator_id] = event.mutate(found[stored.originator_id])
        return found

    def get_or_none(self, aggregate_id: UUID) -> LedgerAggregate | None:
        """The aggregate now, or None if it does not exist."""
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate  # type: ignore[no-any-return]  # the repository is untyped here

    def record(self, processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Writes a batch's events (and its read guards) in one transaction."""
        recordings = self._record(processing)
        self._snapshot(processing)
        self._notify(recordings)
        return recordings

    def _snapshot(self, processing: ProcessingEvent[UUID]) -> None:
        """eventsourcing's `_take_snapshots` (an aggregate of `snapshotting_intervals` at a
        multiple of its interval), taken from the aggregate just committed when it stands
        at that version: eventsourcing would read its events back from the store and fold
        them again (a phase's 500, on every 500th decision about it). The writer's
        aggregate is that fold: the commit checked its version (ledger/writer.py)."""
        if self.snapshots is None or not self.snapshotting_intervals:
            return
        for event in processing.events:
            aggregate = processing.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None or event.originator_version % interval:
                continue
            snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
            if aggregate.version != event.originator_version or snapshot_class is None:
                # Moved on in the same batch (or no snapshot class: eventsourcing says so).
                self.take_snapshot(event.originator_id, version=event.originator_version)
            else:
                self.snapshots.put([snapshot_class.take(aggregate)])

    def log_watch(self) -> LogWatch | None:
        """This Ledger's watch on the log (started at the first call; one per Ledger), or
        None where the store cannot notify (SQLite, memory): then whoever waits polls."""
        with self._watch_lock:
            if self._watch is None:
                make = getattr(self.recorder, "log_watch", None)
                if make is None:
                    return None
                self._watch = make()
                self._watch.start()
            return self._watch

    def close(self) -> None:
        with self._watch_lock:
            if self._watch is not None:
                self._watch.stop()
                self._watch = None
        self.writer.close()
        release = getattr(self.recorder, "release", None)  # the PostgreSQL saves' connection
        if release is not None:
            release()
        super().close()

    def business_dates(self) -> tuple[date, date]:
        """I13's window (Settings.earliest_business_date, business_years_ahead), worked
        out at most once a second (every command asks; today moves once a day)."""
        now = time.monotonic()
        kept = self._business_window
        if kept is not None and now < kept[0]:
            return kept[1]
        earliest = date.fromisoformat(
            self.env.get("LEDGER_EARLIEST_BUSINESS_DATE") or "1990-01-01")
        window = earliest, years_after(
            today(), int(self.env.get("LEDGER_BUSINESS_YEARS_AHEAD") or 2))
        self._business_window = (now + 1.0, window)
        return window

    def replay(self, user: str, key: str, fingerprint: str) -> CommandResult | None:
        """The first answer to a repeated idempotency key, or None if it is new."""
        record = self.get_or_none(IdempotencyRecord.id_for(user, key))
        if record is None:
            return None
        assert isinstance(record, IdempotencyRecord)
        check_same_request(key, record.fingerprint, record.command, fingerprint)
        position = self.chained_recorder.position_of(record.id, 1) or 0
        return CommandResult(ids=dict(record.result), position=position, replayed=True)

    # -- loading -----------------------------------------------------------

    def _load(self, cls: type[A], aggregate_id: Any, what: str, at: int | None = None) -> A:
        """The aggregate now, or as it stood at log position `at`."""
        try:
            if at:
                version = self.chained_recorder.version_at(aggregate_id, at)
                if version is None:
                    raise NotFound(f"unknown {what} at position {at}")
                aggregate: Any = self.repository.get(aggregate_id, version=version)
            else:
                aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"unknown {what}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"unknown {what}")
        return aggregate

    def programme(self, programme_id: str, *, at: int | None = None) -> Programme:
        return self._load(
            Programme, Programme.id_for(programme_id), f"programme {programme_id}", at
        )

    def phase(self, phase_id: str, *, at: int | None = None) -> Phase:
        return self._load(Phase, Phase.id_for(phase_id), f"phase {phase_id}", at)

    def recipient(self, recipient_id: str, *, at: int | None = None) -> Recipient:
        return self._load(
            Recipient, Recipient.id_for(recipient_id), f"recipient {recipient_id}", at
        )

    def application(self, application_id: str, *, at: int | None = None) -> Grant:
        try:
            aggregate_id = UUID(application_id)
        except ValueError:
            raise NotFound(f"unknown application {application_id}") from None
        return self._load(
            Grant, aggregate_id, f"application {application_id}", at
        )

    # -- the chain ---------------------------------------------------------

    @property
    def chained_recorder(self) -> ChainedRecorder:
        recorder: Any = self.recorder
        return recorder  # type: ignore[no-any-return]  # the factory is configured with a chained recorder

    def verify_chain(
        self, digest: Digest | None = None, *, progress: Callable[[int], None] | None = None
    ) -> ChainReport:
        """Re-hashes the whole log (slow: seconds per 100,000 events); see `integrity`."""
        return full_walk(self.chained_recorder, digest=digest, progress=progress)

    def integrity(self, digest: Digest | None = None, *, limit: int | None = None) -> Integrity:
        """The verified checkpoint, extended by the few links since the last call (at most
        `limit`, `LINKS_PER_CALL` by default; 0: read as it stands)."""
        return integrity(self.chained_recorder, digest=digest, limit=limit)

    def head(self) -> tuple[int, str]:
        position, digest = self.chained_recorder.chain_head()
        return position, digest.hex()

    def position_at(self, moment: datetime) -> int:
        return self.chained_recorder.position_at(moment)


__all__: Sequence[str] = ["CommandResult", "LedgerCore", "today"]
