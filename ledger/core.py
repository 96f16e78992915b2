"""The Ledger application: loads aggregates, runs a decision, saves atomically.

Every command is `decide` → `save(*aggregates)` in one transaction. A lost
optimistic-concurrency race (another writer saved the same aggregate version
first) surfaces as IntegrityError; the decision is then re-run on fresh state,
which re-checks every invariant, so retrying is always safe.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder

from ledger.domain.application import Application as GrantApplication
from ledger.domain.base import Actor, LedgerAggregate
from ledger.domain.dates import (
    business_dates_in,
    check_events_in_window,
    check_in_window,
    years_after,
)
from ledger.domain.idempotency import IdempotencyRecord
from ledger.domain.phase import Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient
from ledger.errors import ConcurrencyConflict, IdempotencyMismatch, NotFound
from ledger.money import Money
from ledger.persistence.chain import ChainedRecorder, ChainReport, Digest
from ledger.persistence.integrity import Integrity, full_walk, integrity
from ledger.persistence.snapshots import VerifiedSnapshotStore
from ledger.persistence.transcodings import register_ledger_transcodings

log = structlog.get_logger("ledger")

A = TypeVar("A", bound=Aggregate)
MAX_ATTEMPTS = 200


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the ids it created or touched and the last position written."""

    ids: dict[str, str]
    position: int
    replayed: bool = False


@dataclass
class Decision:
    """The aggregates a command changed and the ids to answer with."""

    aggregates: list[LedgerAggregate]
    ids: dict[str, str] = field(default_factory=dict)


# The versions of the aggregates the running decision has read. Those it does not
# change are "read guards": the save fails, and the decision is re-run, if any of
# them changed meanwhile — e.g. the programme whose closed fiscal years a payment
# was checked against (I10), while finance closes the year.
_reads: ContextVar[dict[UUID, int] | None] = ContextVar("ledger_decision_reads", default=None)


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

    def remember(self, aggregate: Aggregate) -> None:
        """Cache an aggregate just saved, so the next command need not rebuild it
        from the database (eventsourcing skips this when fast-forwarding)."""
        if self.cache is None:
            return
        with self._stripes[hash(aggregate.id) % self.STRIPES]:
            try:
                cached = self.cache.get(aggregate.id)
            except KeyError:
                cached = None
            if cached is None or cached.version < aggregate.version:
                self.cache.put(aggregate.id, aggregate)


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

    # -- the command loop --------------------------------------------------

    def _execute(
        self,
        actor: Actor,
        command: str,
        request: dict[str, Any],
        decide: Callable[[], Decision],
    ) -> CommandResult:
        fingerprint = _fingerprint(command, actor.user, request)
        window = self._business_dates()
        for field_name, business_date in business_dates_in(request):
            check_in_window(business_date, *window, what=field_name)
        for attempt in range(MAX_ATTEMPTS):
            if actor.idempotency_key is not None:
                replay = self._replay(actor.user, actor.idempotency_key, fingerprint)
                if replay is not None:
                    return replay
            token = _reads.set({})
            try:
                decision = decide()
                reads = _reads.get() or {}
            finally:
                _reads.reset(token)
            check_events_in_window(decision.aggregates, *window)  # dates it chose itself
            aggregates: list[Aggregate] = list(decision.aggregates)
            if actor.idempotency_key is not None:
                aggregates.append(
                    IdempotencyRecord.start(
                        IdempotencyRecord.Recorded,
                        actor,
                        id=IdempotencyRecord.id_for(actor.user, actor.idempotency_key),
                        effective_date=today(),
                        key=actor.idempotency_key,
                        command=command,
                        fingerprint=fingerprint,
                        result=decision.ids,
                    )
                )
            written = {a.id for a in aggregates}
            guards = [(key, version) for key, version in reads.items() if key not in written]
            try:
                recordings = (
                    self.save(*aggregates, read_guards=guards) if guards
                    else self.save(*aggregates)
                )
            except IntegrityError:
                log.debug("command_retried", command=command, attempt=attempt + 1)
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not security
                continue
            for aggregate in aggregates:
                self._cache.remember(aggregate)
            position = max((r.notification.id for r in recordings), default=0)
            log.debug("command_recorded", command=command, position=position, **decision.ids)
            return CommandResult(ids=decision.ids, position=position)
        raise ConcurrencyConflict(f"{command} lost {MAX_ATTEMPTS} concurrent races; retry")

    def _business_dates(self) -> tuple[date, date]:
        """I13's window (Settings.earliest_business_date, business_years_ahead)."""
        earliest = date.fromisoformat(
            self.env.get("LEDGER_EARLIEST_BUSINESS_DATE") or "1990-01-01")
        return earliest, years_after(
            today(), int(self.env.get("LEDGER_BUSINESS_YEARS_AHEAD") or 2))

    def _replay(self, user: str, key: str, fingerprint: str) -> CommandResult | None:
        try:
            record: Any = self.repository.get(IdempotencyRecord.id_for(user, key))
        except AggregateNotFoundError:
            return None
        assert isinstance(record, IdempotencyRecord)
        if record.fingerprint != fingerprint:
            raise IdempotencyMismatch(
                # The record is the caller's own (keys are scoped to their user).
                f"idempotency key {key!r} was used for a different request ({record.command})"
            )
        position = self.chained_recorder.position_of(record.id, 1) or 0
        return CommandResult(ids=dict(record.result), position=position, replayed=True)

    def _settling(
        self,
        actor: Actor,
        application_id: str,
        *,
        day: date,
        reason: str | None,
        transition: Callable[[GrantApplication], Money],
    ) -> Decision:
        """A move out of the open states (withdraw, reject, close, revoke): the
        application's event plus the phase's `ApplicationSettled`, which frees the
        recipient's slot (I4) and takes back what the transition released."""
        application = self.application(application_id)
        phase = self.phase(application.phase_id)
        self.programme(application.programme_id).check_open(day)
        released = transition(application)
        phase.settle(
            actor,
            application_id=application_id,
            recipient_id=application.recipient_id,
            released=released,
            effective_date=day,
            reason=reason,
        )
        return Decision([application, phase], {"application_id": application_id})

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
                reads = _reads.get()
                if reads is not None and not getattr(aggregate, "IMMUTABLE", False):
                    reads.setdefault(aggregate.id, aggregate.version)
        except AggregateNotFoundError:
            raise NotFound(f"unknown {what}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"unknown {what}")
        return aggregate

    def _exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.repository

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

    def application(self, application_id: str, *, at: int | None = None) -> GrantApplication:
        try:
            aggregate_id = UUID(application_id)
        except ValueError:
            raise NotFound(f"unknown application {application_id}") from None
        return self._load(
            GrantApplication, aggregate_id, f"application {application_id}", at
        )

    @property
    def _cache(self) -> SerialisedCacheRepository:
        repository = self.repository
        assert isinstance(repository, SerialisedCacheRepository)
        return repository

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

    def integrity(self, digest: Digest | None = None) -> Integrity:
        """The verified checkpoint, extended by the few links since the last call."""
        return integrity(self.chained_recorder, digest=digest)

    def head(self) -> tuple[int, str]:
        position, digest = self.chained_recorder.chain_head()
        return position, digest.hex()

    def position_at(self, moment: datetime) -> int:
        return self.chained_recorder.position_at(moment)


def _fingerprint(command: str, user: str, request: dict[str, Any]) -> str:
    body = json.dumps(
        {"command": command, "user": user, "request": request},
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def today() -> date:
    return datetime.now().astimezone().date()


__all__: Sequence[str] = ["CommandResult", "Decision", "LedgerCore", "today"]
