"""The tamper-evident hash chain over the global order (SPEC §2).

hash(n) = SHA-256(hash(n-1) ‖ canonical bytes of event n), with 32 zero bytes
before the first event. The canonical bytes are a JSON header (position,
recorded_at, aggregate id and version, topic) followed by the stored state
exactly as written, so any change to a stored row changes the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification

GENESIS = bytes(32)


def format_recorded_at(moment: datetime) -> str:
    """One text form for a recorded time, whatever the database returns."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    header = json.dumps(
        [
            position,
            format_recorded_at(recorded_at),
            str(originator_id),
            originator_version,
            topic,
        ],
        separators=(",", ":"),
    ).encode()
    return hashlib.sha256(previous + header + b"\n" + state).digest()


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

    def chain_head(self) -> tuple[int, bytes]: ...

    def position_at(self, moment: datetime) -> int: ...

    def position_of(self, originator_id: UUID, originator_version: int) -> int | None: ...

    def version_at(self, originator_id: UUID, position: int) -> int | None: ...


def build_links(
    previous_hash: bytes,
    previous_recorded_at: datetime | None,
    positions: Sequence[int],
    stored: Sequence[tuple[UUID | str, int, str, bytes]],
) -> list[tuple[int, UUID | str, int, datetime, bytes]]:
    """Links for events just inserted, in position order."""
    recorded_at = next_recorded_at(previous_recorded_at)
    rows = []
    digest = previous_hash
    for position, (originator_id, version, topic, state) in sorted(
        zip(positions, stored, strict=True)
    ):
        digest = link(
            digest,
            position=position,
            recorded_at=recorded_at,
            originator_id=originator_id,
            originator_version=version,
            topic=topic,
            state=state,
        )
        rows.append((position, originator_id, version, recorded_at, digest))
    return rows


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the chain: `broken_at` is the first bad position."""

    checked: int
    head_position: int
    head_hash: str
    broken_at: int | None
    problem: str | None

    @property
    def verified(self) -> bool:
        return self.broken_at is None


def verify_chain(
    events: Iterable[ChainedEvent | tuple[int, str]],
    *,
    digest: tuple[int, str] | None = None,
) -> ChainReport:
    """Recompute the chain from the stored rows and compare with the stored hashes.

    `events` yields rows joined on position; a `(position, problem)` tuple marks
    an event without its link or a link without its event.
    """
    previous = GENESIS
    checked = 0
    head = 0
    for row in events:
        if isinstance(row, tuple):
            return ChainReport(checked, head, previous.hex(), row[0], row[1])
        expected = link(
            previous,
            position=row.position,
            recorded_at=row.recorded_at,
            originator_id=row.originator_id,
            originator_version=row.originator_version,
            topic=row.topic,
            state=row.state,
        )
        if expected != row.hash:
            return ChainReport(
                checked,
                head,
                previous.hex(),
                row.position,
                f"event at position {row.position} does not match its stored hash",
            )
        if digest is not None and row.position == digest[0] and row.hash.hex() != digest[1]:
            return ChainReport(
                checked,
                head,
                previous.hex(),
                row.position,
                f"head hash at position {row.position} differs from the digest",
            )
        previous, head, checked = expected, row.position, checked + 1
    if digest is not None and digest[0] > head:
        return ChainReport(
            checked, head, previous.hex(), digest[0], "digest position is beyond the log"
        )
    return ChainReport(checked, head, previous.hex(), None, None)


def merged_rows(
    recorder: ChainedRecorder,
    *,
    batch: int = 5000,
) -> Iterator[ChainedEvent | tuple[int, str]]:
    """Stored events beside their links, so a row missing on either side shows.

    Event content comes from the events table itself (eventsourcing's
    `select_notifications`), the hashes from the chain table.
    """
    after = 0
    while True:
        links = recorder.select_chain(after=after, limit=batch)
        stop = links[-1].position if len(links) == batch else None
        notifications = recorder.select_notifications(
            start=after + 1, limit=batch + 1000, stop=stop
        )
        by_position = {n.id: n for n in notifications}
        for chain_link in links:
            n = by_position.pop(chain_link.position, None)
            if n is None:
                yield (chain_link.position, f"event at position {chain_link.position} is missing")
                return
            yield ChainedEvent(
                position=n.id,
                originator_id=UUID(str(n.originator_id)),
                originator_version=n.originator_version,
                topic=n.topic,
                state=n.state,
                recorded_at=chain_link.recorded_at,
                hash=chain_link.hash,
            )
        if by_position:
            first = min(by_position)
            yield (first, f"event at position {first} has no link in the chain")
            return
        if len(links) < batch:
            return
        after = links[-1].position
