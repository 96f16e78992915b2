"""The chain of SPEC §2 as first written, with json.dumps: what the recorders' faster
hashing must reproduce byte for byte."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from uuid import UUID

from ledger.persistence.chain import GENESIS
from ledger.persistence.log import LogRecord


def reference_time(moment: datetime) -> str:
    """The recorded time's text as first written (format_recorded_at now formats it by hand)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reference_link(previous: bytes, *, position: int, recorded_at: datetime,
                   originator_id: UUID | str, originator_version: int, topic: str,
                   state: bytes) -> bytes:
    header = json.dumps(
        [position, reference_time(recorded_at), str(originator_id), originator_version,
         topic],
        separators=(",", ":"),
    ).encode()
    return hashlib.sha256(previous + header + b"\n" + state).digest()


def unmatched_links(records: Iterable[LogRecord]) -> list[int]:
    """Positions whose stored hash is not the reference hash over the stored rows."""
    previous, wrong = GENESIS, []
    for r in records:
        header = json.dumps([r.position, r.recorded_at, r.originator_id, r.originator_version,
                             r.topic], separators=(",", ":")).encode()
        previous = hashlib.sha256(previous + header + b"\n" + r.state).digest()
        if previous.hex() != r.hash:
            wrong.append(r.position)
            previous = bytes.fromhex(r.hash)
    return wrong
