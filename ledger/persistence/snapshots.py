"""Snapshots that decide nothing the chain does not say (issue 9, finding 2).

A snapshot is a copy of an aggregate's state at a version, stored outside the hash
chain: whoever can write to the database can edit it without breaking a link. So
the repository reads snapshots through `VerifiedSnapshotStore`, which uses one only
after it has compared it with a fold of the chained events up to the snapshot's
version. A snapshot that differs is ignored (logged as `snapshot_ignored`): the
fold it was compared with, taken from the chained events, stands in for it.

The first check of an aggregate's snapshot folds its events from the start; the
process then remembers the snapshot it verified (its stored bytes, not an object a
command could mutate), so the next check folds only from there, and a snapshot the
process took or checked before is recognised by its bytes. `audit_snapshots` does
the same for every stored snapshot, for `ledger verify`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import AggregateRecorder, EventStore, Recording, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

log = structlog.get_logger("ledger.snapshots")

# Aggregates whose last verified snapshot the process keeps (a phase's state is
# one entry per recipient: about 100 kB for 2,000 recipients) ...
MEMO_SIZE = 256
# ... and snapshots it verified, by a digest of their bytes (an as-of read may use an
# older one than the last).
DIGESTS = 16_384


@dataclass(frozen=True)
class SnapshotProblem:
    """A stored snapshot that is not what the chained events say."""

    originator_id: UUID
    originator_version: int
    problem: str
    entity: str = ""  # e.g. "phase 2020-1", when the chain knows the aggregate

    def __str__(self) -> str:
        return (f"snapshot of {self.entity or 'aggregate'} ({self.originator_id}) at version "
                f"{self.originator_version}: {self.problem}")


class VerifiedSnapshotStore(EventStore[UUID]):
    """eventsourcing's snapshot store, trusted only as far as the chained events agree.

    Raises nothing for a bad snapshot: `get` yields in its place the aggregate's
    state folded from the chained events (or nothing when there are none), so the
    repository rebuilds the aggregate from the chain.
    """

    def __init__(self, snapshots: EventStore[UUID], *, events: EventStore[UUID]) -> None:
        super().__init__(mapper=snapshots.mapper, recorder=snapshots.recorder)
        self._events = events
        self._verified: OrderedDict[UUID, StoredEvent] = OrderedDict()
        self._digests: OrderedDict[tuple[UUID, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.problems: list[SnapshotProblem] = []  # met since start, newest last (bounded)

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        """Stores snapshots the ledger took: folds of verified state, so remembered as such."""
        recordings = super().put(domain_events, **kwargs)
        for event in domain_events:
            self._remember(self.mapper.to_stored_event(event))
        return recordings

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        stored = self.recorder.select_events(
            originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        for snapshot in stored:
            trusted, problem = self.check(snapshot)
            if problem is not None:
                log.warning("snapshot_ignored", aggregate_id=str(problem.originator_id),
                            version=problem.originator_version, problem=problem.problem)
                with self._lock:
                    if problem not in self.problems:
                        self.problems = [*self.problems[-99:], problem]
            if trusted is not None:
                yield trusted

    def check(
        self, stored: StoredEvent
    ) -> tuple[DomainEventProtocol[UUID] | None, SnapshotProblem | None]:
        """The snapshot to use in place of `stored` and, when they differ, the problem.

        The snapshot to use is `stored` itself when it equals the fold of the chained
        events up to its version, else that fold (None when the chain has no events).
        """
        originator_id = UUID(str(stored.originator_id))
        version = stored.originator_version
        with self._lock:
            known = self._verified.get(originator_id)
            seen = self._digests.get((originator_id, version))
        if seen is not None and seen == _digest(stored):
            return self.mapper.to_domain_event(stored), None
        base = known if known is not None and known.originator_version < version else None
        aggregate = self._fold(originator_id, version, base)
        if aggregate is None or aggregate.version != version:
            problem = "its aggregate has no chained event at that version"
            return None, SnapshotProblem(originator_id, version, problem, _entity(aggregate))
        snapshot_class = getattr(type(aggregate), "Snapshot", Snapshot)
        fresh = snapshot_class.take(aggregate)
        fresh_stored = self.mapper.to_stored_event(fresh)
        try:
            candidate: Any = self.mapper.to_domain_event(stored)
            expected: Any = self.mapper.to_domain_event(fresh_stored)  # typed as it decodes
            same = (stored.topic == fresh_stored.topic
                    and candidate.topic == fresh.topic and candidate.state == expected.state)
        except Exception:  # any undecodable snapshot is as bad as a wrong one
            candidate, same = None, False
        if not same and candidate is not None and _of_an_earlier_release(
                candidate.state, expected.state):
            # Taken before a release added state to the aggregate: stale, not altered.
            # The fold stands in for it, as for any snapshot not used; the next one taken
            # (every `snapshotting_intervals` events) holds all of it.
            return self.mapper.to_domain_event(fresh_stored), None
        if not same:
            problem = "differs from a fold of the chained events"
            return self.mapper.to_domain_event(fresh_stored), SnapshotProblem(
                originator_id, version, problem, _entity(aggregate))
        self._remember(stored)
        return candidate, None

    def _fold(self, originator_id: UUID, version: int, base: StoredEvent | None) -> Any:
        start: Any = None
        if base is not None:
            start = self.mapper.to_domain_event(base).mutate(None)  # type: ignore[attr-defined]  # a snapshot: decoded afresh, nobody else holds its state
        events = self._events.get(
            originator_id, gt=base.originator_version if base else None, lte=version)
        return project_aggregate(start, events)

    def _remember(self, stored: StoredEvent) -> None:
        originator_id = UUID(str(stored.originator_id))
        with self._lock:
            known = self._verified.get(originator_id)
            if known is None or known.originator_version <= stored.originator_version:
                self._verified[originator_id] = stored
            self._verified.move_to_end(originator_id)
            while len(self._verified) > MEMO_SIZE:
                self._verified.popitem(last=False)
            self._digests[(originator_id, stored.originator_version)] = _digest(stored)
            while len(self._digests) > DIGESTS:
                self._digests.popitem(last=False)


# State that later releases added to snapshotted aggregates: a snapshot stored by an
# earlier release lacks it (ledger/domain/phase.py `by_day`: balances by business date).
LATER_FIELDS = frozenset({"by_day"})


def _of_an_earlier_release(stored: Any, fold: Any) -> bool:
    """True when the stored state is the fold's without some of LATER_FIELDS (and
    otherwise equal): a snapshot an earlier release took."""
    if not isinstance(stored, dict) or not isinstance(fold, dict):
        return False
    missing = fold.keys() - stored.keys()
    return (bool(missing) and missing <= LATER_FIELDS and stored.keys() <= fold.keys()
            and all(stored[key] == fold[key] for key in stored))


def _entity(aggregate: Any) -> str:
    if aggregate is None:
        return ""
    kind = type(aggregate).__name__.lower()
    name = getattr(aggregate, f"{kind}_id", None)
    return f"{kind} {name}" if name else kind


def _digest(stored: StoredEvent) -> bytes:
    return hashlib.sha256(stored.topic.encode() + b"\n" + stored.state).digest()


def problems_met(app: Application[UUID]) -> list[SnapshotProblem]:
    """The stored snapshots this process found differing from the chained events (and so
    ignored) since it started, newest last; `audit_snapshots` checks them all."""
    store = app.snapshots
    return list(store.problems) if isinstance(store, VerifiedSnapshotStore) else []


def audit_snapshots(app: Application[UUID]) -> tuple[int, list[SnapshotProblem]]:
    """Every stored snapshot compared with a fold of the chained events: how many, and
    those that differ. Folds each aggregate once, from one snapshot to the next."""
    if app.snapshots is None:
        return 0, []
    checker = VerifiedSnapshotStore(app.snapshots, events=app.events)
    recorder = app.snapshots.recorder
    problems, count = [], 0
    for originator_id, version in _snapshot_keys(recorder):
        for stored in recorder.select_events(originator_id, gt=version - 1, lte=version):
            count += 1
            _, problem = checker.check(stored)
            if problem is not None:
                problems.append(problem)
    return count, problems


def _snapshot_keys(recorder: AggregateRecorder) -> list[tuple[UUID, int]]:
    """(aggregate id, version) of every stored snapshot, in that order; the states are
    read one at a time (a phase's snapshot may be large)."""
    if isinstance(recorder, POPOAggregateRecorder):
        keys = [(UUID(str(s.originator_id)), s.originator_version)
                for s in recorder._stored_events]  # the in-memory store has no query
    elif isinstance(recorder, SQLiteAggregateRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            c.execute("SELECT originator_id, originator_version FROM "
                      + recorder.events_table_name)
            keys = [(UUID(row[0]), int(row[1])) for row in c.fetchall()]
    elif isinstance(recorder, PostgresAggregateRecorder):
        statement = SQL("SELECT originator_id, originator_version FROM {schema}.{table}").format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            keys = [(UUID(str(row["originator_id"])), int(row["originator_version"]))
                    for row in curs.fetchall()]
    else:
        raise TypeError(f"cannot list the snapshots of {type(recorder).__name__}")
    return sorted(keys)
