"""Walking the chain: the full walk of `ledger verify`, and the verified checkpoint.

The checkpoint (position, hash, verified_at) lives in the database beside the
chain. It is extended a bounded number of links at a time, re-hashing each new
event from the events table against the previous hash, under a lock that keeps
two extenders apart; `GET /integrity` answers from it in milliseconds. It proves
that every link up to its position was verified once, and that the chain row at
its position still holds the verified hash. An edit of an earlier event that
leaves the chain rows alone, or an insider who rewrites the checkpoint row too,
is found by the full walk (`ledger verify`) and by digests kept outside the
database, not by the checkpoint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.persistence import Notification

from ledger.persistence.chain import (
    GENESIS,
    ChainedEvent,
    ChainedRecorder,
    ChainLink,
    ChainReader,
    ChainReport,
    Checkpoint,
    CheckpointStep,
    Digest,
    Row,
    format_recorded_at,
    verify_chain,
)


def merge(
    links: Sequence[ChainLink],
    notifications: Sequence[Notification],
    *,
    limit: int,
    linked: Callable[[int], bool],
) -> Iterator[Row]:
    """Events beside their links in position order, so a row missing on either side shows.

    Both sides hold the first rows after the same position, read (links first) with
    the same `limit`: every position up to the end of the shorter full side is in
    them. An event past the last link is either committed since the links were read
    (`linked` finds its link now: the walk ends there) or an event without a link.
    """
    ends = [side[-1] for side in ([x.position for x in links], [n.id for n in notifications])
            if len(side) == limit]
    cutoff = min(ends, default=None)
    last_link = links[-1].position if links else 0
    by_event = {n.id: n for n in notifications}
    by_link = {x.position: x for x in links}
    for position in sorted(by_event.keys() | by_link.keys()):
        if cutoff is not None and position > cutoff:
            return
        chain_link, n = by_link.get(position), by_event.get(position)
        if n is None:
            yield (position, f"event at position {position} is missing")
            return
        if chain_link is None:
            if position > last_link and linked(position):
                return  # committed after the links were read: beyond this walk's head
            yield (position, f"event at position {position} has no link in the chain")
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


def merged_rows(recorder: ChainedRecorder, *, batch: int = 5000) -> Iterator[Row]:
    """The whole log, events beside their links, a batch at a time (bounded memory).

    Event content comes from the events table itself (eventsourcing's
    `select_notifications`), the hashes from the chain table.
    """
    after = 0
    while True:
        links = recorder.select_chain(after=after, limit=batch)
        notifications = recorder.select_notifications(start=after + 1, limit=batch)
        last = None
        for row in merge(links, notifications, limit=batch,
                         linked=lambda p: recorder.link_at(p) is not None):
            yield row
            if isinstance(row, tuple):
                return
            last = row.position
        if last is None or (len(links) < batch and len(notifications) < batch):
            return
        after = last


def extend(checkpoint: Checkpoint, reader: ChainReader, *, limit: int) -> Checkpoint:
    """The checkpoint moved over at most `limit` links after it, or stopped at a finding.

    A finding stands (later calls do not walk on) until an operator has looked into
    it and cleared the checkpoint: evidence of tampering must not turn green again
    because someone put a row back.
    """
    if not checkpoint.verified:
        return checkpoint
    now = datetime.now(UTC)
    if checkpoint.position and reader.link_at(checkpoint.position) != checkpoint.hash:
        return dataclasses.replace(checkpoint, verified_at=now, broken_at=checkpoint.position,
                                   problem=_moved(checkpoint))
    links = reader.links_after(checkpoint.position, limit)
    events = reader.events_after(checkpoint.position, limit)
    rows = merge(links, events, limit=limit, linked=lambda p: reader.link_at(p) is not None)
    report = verify_chain(rows, start=(checkpoint.position, checkpoint.hash))
    if not report.checked and report.broken_at is None:
        return checkpoint  # nothing new: no write (verified_at says when it last moved)
    return Checkpoint(report.head_position, bytes.fromhex(report.head_hash),
                      checkpoint.links + report.checked, now, report.broken_at, report.problem)


def anchor(checkpoint: Checkpoint) -> Digest | None:
    """The checkpoint as a digest, for a full walk to check it on its way."""
    return (checkpoint.position, checkpoint.hash.hex()) if checkpoint.position else None


def record(report: ChainReport) -> CheckpointStep:
    """A step that takes over a full walk's result: its finding, or its verified head
    when that is beyond the checkpoint (the walk checked the checkpoint as a digest)."""

    def step(checkpoint: Checkpoint, _: ChainReader) -> Checkpoint:
        if not checkpoint.verified:
            return checkpoint
        now = datetime.now(UTC)
        if not report.verified:
            if report.digest is None:
                problem = report.problem
            elif report.digest == anchor(checkpoint):
                problem = _moved(checkpoint)
            else:  # an auditor's digest that does not match: theirs to pursue (or a typo)
                return checkpoint
            return dataclasses.replace(checkpoint, verified_at=now,
                                       broken_at=report.broken_at, problem=problem)
        if report.head_position <= checkpoint.position:
            return checkpoint
        return Checkpoint(report.head_position, bytes.fromhex(report.head_hash),
                          report.checked, now)

    return step


def _moved(checkpoint: Checkpoint) -> str:
    when = format_recorded_at(checkpoint.verified_at) if checkpoint.verified_at else "?"
    return (f"the chain at position {checkpoint.position} no longer holds the hash "
            f"verified at {when}")


LINKS_PER_CALL = 2000  # ~70 ms of hashing: an auditor's request never holds a worker long


@dataclass(frozen=True)
class Integrity:
    """What `GET /integrity` answers: the log's head, the checkpoint, a digest's verdict."""

    head_position: int
    head_hash: str
    checkpoint: Checkpoint
    digest: Digest | None = None
    digest_problem: str | None = None

    @property
    def verified(self) -> bool:
        return self.checkpoint.verified and self.digest_problem is None


def integrity(recorder: ChainedRecorder, *, digest: Digest | None = None,
              limit: int | None = None) -> Integrity:
    """Extends the checkpoint by at most `limit` (`LINKS_PER_CALL`) links (unless another
    caller is at it; `limit=0`: not at all, two reads) and checks `digest` against the
    stored chain row at its position."""
    limit = LINKS_PER_CALL if limit is None else limit
    checkpoint = recorder.read_checkpoint()
    head_position, head_hash = recorder.chain_head()
    # At the head, the head's link is the checkpoint's: it still holds the verified hash,
    # and there is nothing to extend (two reads, no lock, no write).
    if limit > 0 and not (checkpoint.verified and checkpoint.position == head_position
                          and checkpoint.hash == head_hash):
        checkpoint = recorder.update_checkpoint(
            lambda current, reader: extend(current, reader, limit=limit), wait=False
        ) or recorder.read_checkpoint()
        head_position, head_hash = recorder.chain_head()
    problem = digest and _digest_problem(recorder, digest, checkpoint, head_position)
    return Integrity(head_position, head_hash.hex(), checkpoint, digest, problem)


def _digest_problem(recorder: ChainedRecorder, digest: Digest, checkpoint: Checkpoint,
                    head: int) -> str | None:
    position, expected = digest
    if position > head:
        return f"digest position {position} is beyond the log (head {head})"
    if position > checkpoint.position:
        return (f"the chain is verified up to position {checkpoint.position} so far, "
                f"not yet up to {position}: ask again shortly")
    stored = GENESIS if position == 0 else recorder.link_at(position)
    if stored is None:
        return f"no link at the digest's position {position}"
    if stored.hex() != expected:
        return f"head hash at position {position} differs from the digest"
    return None


def full_walk(recorder: ChainedRecorder, *, digest: Digest | None = None,
              progress: Callable[[int], None] | None = None) -> ChainReport:
    """The whole chain re-hashed from genesis (`ledger verify`), checking `digest` and the
    checkpoint on the way; the checkpoint then takes over the result."""
    checkpoint = recorder.read_checkpoint()
    own = anchor(checkpoint)
    report = verify_chain(merged_rows(recorder), digest=digest, digests=[own] if own else [],
                          progress=progress)
    recorder.update_checkpoint(record(report), wait=True)
    if report.digest is not None and report.digest == own and report.digest != digest:
        return dataclasses.replace(report, problem=_moved(checkpoint))
    return report
