"""In-memory recorder for fast tests, with the same hash chain as the databases."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Notification,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from ledger.persistence.chain import (
    ChainedEvent,
    ChainLink,
    Checkpoint,
    CheckpointStep,
    build_links,
    format_recorded_at,
)
from ledger.persistence.log import LogRecord


class ChainedPOPORecorder(POPOApplicationRecorder):
    def __init__(self) -> None:
        super().__init__()
        self._links: list[ChainLink] = []
        self._checkpoint = Checkpoint()
        self._checkpoint_lock = threading.Lock()

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            for originator_id, version in kwargs.get("read_guards", ()):
                current = max(self._stored_events_index[str(originator_id)], default=0)
                if current != version:
                    raise IntegrityError("read guard: an aggregate this decision read has changed")
            ids = super()._insert_events(stored_events, **kwargs)
            if ids:
                head = self._links[-1] if self._links else None
                links = build_links(
                    head.hash if head else bytes(32),
                    head.recorded_at if head else None,
                    list(ids),
                    [
                        (s.originator_id, s.originator_version, s.topic, s.state)
                        for s in stored_events
                    ],
                )
                self._links.extend(
                    ChainLink(pos, UUID(str(oid)), version, at, digest)
                    for pos, oid, version, at, digest in links
                )
            return ids

    def select_chain(self, *, after: int, limit: int) -> Sequence[ChainLink]:
        with self._database_lock:
            return self._links[after : after + limit]

    def select_chained_events(
        self, *, after: int, limit: int, upto: int | None = None
    ) -> Sequence[ChainedEvent]:
        with self._database_lock:
            links = self._links[after : after + limit]
            result = []
            for chain_link in links:
                if upto is not None and chain_link.position > upto:
                    break
                stored = self._stored_events[chain_link.position - 1]
                result.append(
                    ChainedEvent(
                        position=chain_link.position,
                        originator_id=chain_link.originator_id,
                        originator_version=chain_link.originator_version,
                        topic=stored.topic,
                        state=stored.state,
                        recorded_at=chain_link.recorded_at,
                        hash=chain_link.hash,
                    )
                )
            return result

    def read_log(self, *, after: int, limit: int, upto: int | None = None) -> list[LogRecord]:
        """The next `limit` records after `after` (up to `upto`), in position order."""
        return [
            LogRecord(e.position, str(e.originator_id), e.originator_version, e.topic, e.state,
                      format_recorded_at(e.recorded_at), e.hash.hex())
            for e in self.select_chained_events(after=after, limit=limit, upto=upto)
        ]

    def read_log_at(self, positions: Sequence[int]) -> list[LogRecord]:
        """The records at `positions` (those that exist), in position order."""
        with self._database_lock:
            count = len(self._links)
        return [record for p in sorted(set(positions)) if 0 < p <= count
                for record in self.read_log(after=p - 1, limit=1)]

    def chain_head(self) -> tuple[int, bytes]:
        with self._database_lock:
            if not self._links:
                return 0, bytes(32)
            return self._links[-1].position, self._links[-1].hash

    def link_at(self, position: int) -> bytes | None:
        with self._database_lock:
            # Positions are dense here: the link at p is the p-th.
            if 0 < position <= len(self._links):
                return self._links[position - 1].hash
            return None

    def read_checkpoint(self) -> Checkpoint:
        return self._checkpoint

    def update_checkpoint(self, step: CheckpointStep, *, wait: bool) -> Checkpoint | None:
        if not self._checkpoint_lock.acquire(blocking=wait):
            return None
        try:
            self._checkpoint = step(self._checkpoint, _POPOChainReader(self))
            return self._checkpoint
        finally:
            self._checkpoint_lock.release()

    def position_at(self, moment: datetime) -> int:
        with self._database_lock:
            return bisect.bisect_right(self._links, moment,
                                       key=lambda chain_link: chain_link.recorded_at)

    def position_of(self, originator_id: UUID, originator_version: int) -> int | None:
        with self._database_lock:
            for chain_link in reversed(self._links):
                if (
                    chain_link.originator_id == originator_id
                    and chain_link.originator_version == originator_version
                ):
                    return chain_link.position
            return None

    def version_at(self, originator_id: UUID, position: int) -> int | None:
        with self._database_lock:
            versions = [
                chain_link.originator_version
                for chain_link in self._links[:position]
                if chain_link.originator_id == originator_id
            ]
            return max(versions) if versions else None


class _POPOChainReader:
    def __init__(self, recorder: ChainedPOPORecorder) -> None:
        self._recorder = recorder

    def links_after(self, after: int, limit: int) -> Sequence[ChainLink]:
        return self._recorder.select_chain(after=after, limit=limit)

    def events_after(self, after: int, limit: int) -> Sequence[Notification]:
        return self._recorder.select_notifications(start=after + 1, limit=limit)

    def link_at(self, position: int) -> bytes | None:
        return self._recorder.link_at(position)


class ChainedPOPOFactory(POPOFactory):
    """eventsourcing's in-memory factory, with the chained recorder."""

    def application_recorder(self) -> ApplicationRecorder:
        return ChainedPOPORecorder()
