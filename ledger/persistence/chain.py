"""The tamper-evident hash chain over the global order (SPEC §2).

hash(n) = SHA-256(hash(n-1) ‖ canonical bytes of event n), with 32 zero bytes
before the first event. The canonical bytes are a JSON header (position,
recorded_at, aggregate id and version, topic) followed by the stored state
exactly as written, so any change to a stored row changes the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise
from operator import itemgetter
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification

GENESIS = bytes(32)
#: From this many events a save takes its recorder's bulk path (an import, the demo, the
#: bench's log): COPY on PostgreSQL, one executemany on SQLite. Below it round trips, not
#: rows, make the cost, and the path of every command is as fast.
BULK_EVENTS = 200


def format_recorded_at(moment: datetime) -> str:
    """One text form for a recorded time, whatever the database returns: what
    `moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")` writes, formatted by hand
    (a third of the cost; every save's links and every verified link ask)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # strftime writes such a year unpadded
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031  # half the cost of the f-string
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
        moment.microsecond)


def parse_recorded_at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def next_recorded_at(previous: datetime | None) -> datetime:
    """Now, but never before the previous event: recorded time follows position."""
    now = datetime.now(UTC)
    if previous is not None and previous > now:
        return previous
    return now


def link(
    previous: bytes,
    *,
    position: int,
    recorded_at: datetime,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    header = _header(position, _time_text(recorded_at), originator_id, originator_version, topic)
    return hashlib.sha256(previous + header + state).digest()


def _header(position: int, recorded_at: bytes, originator_id: UUID | str,
            originator_version: int, topic: str) -> bytes:
    """The link's header and its newline, built by hand: byte for byte what
    `json.dumps([position, recorded_at, str(originator_id), originator_version, topic],
    separators=(",", ":"))` gives (tests/unit/test_chain_bytes.py), at a third of the cost."""
    oid = (b'"%s"' % str(originator_id).encode() if type(originator_id) is UUID
           else json.dumps(str(originator_id)).encode())
    return b"[%d,%s,%s,%d,%s]\n" % (position, recorded_at, oid, originator_version,
                                    _quoted(topic))


def _time_text(moment: datetime) -> bytes:
    return b'"%s"' % format_recorded_at(moment).encode()


@lru_cache(maxsize=1024)
def _quoted(text: str) -> bytes:
    """A string as the header's JSON writes it (ASCII, escaped); topics repeat, so cached."""
    return json.dumps(text).encode()


@dataclass(frozen=True)
class ChainLink:
    position: int
    originator_id: UUID
    originator_version: int
    recorded_at: datetime
    hash: bytes


@dataclass(frozen=True)
class ChainedEvent:
    """A stored event with its place in the chain: what projections read."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    recorded_at: datetime
    hash: bytes


@dataclass(frozen=True)
class Checkpoint:
    """How far the chain is verified: every link up to `position` re-hashed from genesis
    (`links` of them), last confirmed at `verified_at`; a finding stops it at `broken_at`."""

    position: int = 0
    hash: bytes = GENESIS
    links: int = 0
    verified_at: datetime | None = None
    broken_at: int | None = None
    problem: str | None = None

    @property
    def verified(self) -> bool:
        return self.broken_at is None


class ChainReader(Protocol):
    """Reads of both sides of the chain inside the checkpoint's locked transaction."""

    def links_after(self, after: int, limit: int) -> Sequence[ChainLink]: ...

    def events_after(self, after: int, limit: int) -> Sequence[Notification]: ...

    def link_at(self, position: int) -> bytes | None: ...


CheckpointStep = Callable[[Checkpoint, ChainReader], Checkpoint]


class ChainedRecorder(Protocol):
    """What the ledger needs of a recorder besides eventsourcing's interface."""

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...

    def select_chain(self, *, after: int, limit: int) -> Sequence[ChainLink]: ...

    def select_chained_events(
        self, *, after: int, limit: int, upto: int | None = None
    ) -> Sequence[ChainedEvent]: ...

    def read_log(self, *, after: int, limit: int, upto: int | None = None) -> Sequence[Any]:
        """Records (ledger.persistence.log.LogRecord) after `after`, in position order."""
        ...

    def read_log_at(self, positions: Sequence[int]) -> Sequence[Any]:
        """The records at `positions` (those that exist), in position order."""
        ...

    def chain_head(self) -> tuple[int, bytes]: ...

    def link_at(self, position: int) -> bytes | None:
        """The stored hash of the link at `position`, if there is one."""
        ...

    def read_checkpoint(self) -> Checkpoint: ...

    def update_checkpoint(self, step: CheckpointStep, *, wait: bool) -> Checkpoint | None:
        """Runs `step` on the stored checkpoint under the checkpoint lock and stores what it
        returns; None when another process holds the lock and `wait` is false."""
        ...

    def position_at(self, moment: datetime) -> int: ...

    def position_of(self, originator_id: UUID, originator_version: int) -> int | None: ...

    def version_at(self, originator_id: UUID, position: int) -> int | None: ...


def build_links(
    previous_hash: bytes,
    previous_recorded_at: datetime | None,
    positions: Sequence[int],
    stored: Sequence[tuple[UUID | str, int, str, bytes]],
) -> list[tuple[int, UUID | str, int, datetime, bytes]]:
    """Links for events just inserted, in position order; one recorded time for all."""
    recorded_at = next_recorded_at(previous_recorded_at)
    at = _time_text(recorded_at)
    rows = []
    digest = previous_hash
    pairs = zip(positions, stored, strict=True)
    in_order = all(a < b for a, b in pairwise(positions))
    for position, (originator_id, version, topic, state) in (
        pairs if in_order else sorted(pairs, key=itemgetter(0))
    ):
        header = _header(position, at, originator_id, version, topic)
        digest = hashlib.sha256(digest + header + state).digest()
        rows.append((position, originator_id, version, recorded_at, digest))
    return rows


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the chain: `broken_at` is the first bad position;
    `digest` names the digest that failed, when one did.

    `intact` says the chain itself held: every link re-hashed from genesis to the head
    and every digest it must hold held. The caller's own digest can fail while the chain
    is intact (a digest that is not this chain's, or a wrong one): then `found` is what
    the chain holds at the digest's position (None: no link there, or the log ends
    before it).
    """

    checked: int
    head_position: int
    head_hash: str
    broken_at: int | None
    problem: str | None
    digest: tuple[int, str] | None = None
    intact: bool = False
    found: str | None = None

    @property
    def verified(self) -> bool:
        return self.broken_at is None


Row = ChainedEvent | tuple[int, str]
Digest = tuple[int, str]


def verify_chain(
    events: Iterable[Row],
    *,
    digest: Digest | None = None,
    digests: Sequence[Digest] = (),
    start: tuple[int, bytes] = (0, GENESIS),
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Recompute the chain from the stored rows and compare with the stored hashes.

    `events` yields rows joined on position, after `start` (a verified position and
    its hash); a `(position, problem)` tuple marks an event without its link or a
    link without its event. Each digest (position, hex hash) must meet its exact
    link: positions have gaps on PostgreSQL, so passing a digest's position without
    a row there (a deleted row, the later hashes re-forged) or ending before it fails.

    The first failure of `digests` (or of a bad row) ends the walk: the chain is broken.
    A failure of `digest`, the caller's, does not: the walk goes on to the head, so the
    report says both whether the chain is intact and that the digest failed (its
    `broken_at` and `problem` then name the digest's failure).
    """
    head, previous = start
    checked = 0
    pending = sorted({*digests, *([digest] if digest else [])}, reverse=True)
    missed: tuple[Digest, str, str | None] | None = None  # the caller's digest, why, found

    moment: datetime | None = None
    moment_text = b""

    def broken(at: int, problem: str, failed: Digest | None = None) -> ChainReport:
        return ChainReport(checked, head, previous.hex(), at, problem, failed)

    def fails(due: Digest, problem: str, found: str | None) -> ChainReport | None:
        """The report that ends the walk, or None when only the caller's digest failed."""
        nonlocal missed
        if due != digest or due in digests:
            return broken(due[0], problem, due)
        missed = missed or (due, problem, found)
        return None

    while pending and pending[-1][0] <= head:  # e.g. `0:000…`, the empty log's digest
        due = pending.pop()
        if due != (head, previous.hex()) and (report := fails(
                due, f"the digest {due[0]}:{due[1]} does not match the chain",
                previous.hex() if due[0] == head else None)):
            return report
    for row in events:
        if isinstance(row, tuple):
            return broken(row[0], row[1])
        while pending and row.position > pending[-1][0]:
            due = pending.pop()
            if report := fails(due, f"no link at the digest's position {due[0]}", None):
                return report
        if row.recorded_at != moment:  # a batch's links share one time: format it once
            moment, moment_text = row.recorded_at, _time_text(row.recorded_at)
        header = _header(row.position, moment_text, row.originator_id,
                         row.originator_version, row.topic)
        expected = hashlib.sha256(previous + header + row.state).digest()
        if expected != row.hash:
            return broken(row.position,
                          f"event at position {row.position} does not match its stored hash")
        while pending and row.position == pending[-1][0]:
            due = pending.pop()
            if row.hash.hex() != due[1] and (report := fails(
                    due, f"head hash at position {row.position} differs from the digest",
                    row.hash.hex())):
                return report
        previous, head, checked = expected, row.position, checked + 1
        if progress is not None and checked % 5000 == 0:
            progress(head)
    while pending:
        due = pending.pop()
        if report := fails(due, "digest position is beyond the log", None):
            return report
    if missed is not None:
        (at, _), problem, found = missed
        return ChainReport(checked, head, previous.hex(), at, problem, missed[0],
                           intact=True, found=found)
    return ChainReport(checked, head, previous.hex(), None, None, intact=True)
