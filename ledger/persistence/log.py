"""The one way to read the log: records in position order, each with its chain link.

Projections, `GET /events` and every other reader use `read_log` of the chained
recorders (PostgreSQL, SQLite, memory) and `plain_fields` to decode a record's
state into plain JSON values without building domain objects: the ledger's
transcoder writes typed values as `{"_type_": ..., "_data_": ...}` where `_data_`
already is the plain form (money "0.00", dates ISO, postings {source, target,
amount}). Anything unfamiliar (a cipher, a compressor, an unknown type) goes
through eventsourcing's mapper instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from ledger.money import Money, Posting
from ledger.persistence.chain import format_recorded_at

_PLAIN_TYPES = frozenset((b"money", b"date", b"datetime_iso", b"posting"))


class LogRecord(NamedTuple):
    """One stored event with its place in the log; text where readers want text."""

    position: int
    originator_id: str  # canonical UUID text
    originator_version: int
    topic: str
    state: bytes  # the stored JSON, exactly as written and hashed
    recorded_at: str  # format_recorded_at
    hash: str  # hex

    @property
    def event_type(self) -> str:
        """`Application.Approved` from `ledger.domain.application:Application.Approved`."""
        return self.topic.rsplit(":", 1)[-1]


# An envelope of a type not in _PLAIN_TYPES: one scan that stops at the first (twice as fast as
# collecting every type name; the log's readers decode every event of a replay with it).
_OTHER_TYPE = re.compile(rb'"_type_":\s*"(?!(?:%b)")' % b"|".join(
    re.escape(name) for name in sorted(_PLAIN_TYPES)))


def unwrap(value: Any) -> Any:
    """A value of the stored JSON with its `{"_type_", "_data_"}` envelopes removed."""
    if type(value) is dict:
        if "_type_" in value:
            return unwrap(value["_data_"])
        return {k: unwrap(v) for k, v in value.items()}
    if type(value) is list:
        return [unwrap(v) for v in value]
    return value


def fields_decoder(app: Application[Any]) -> Callable[[LogRecord], dict[str, Any]]:
    """A function from a record to its event's fields: the stored JSON as parsed (typed
    values still in their envelopes: `unwrap` what you read), or, for an unfamiliar
    encoding, plain values through eventsourcing's mapper (`unwrap` leaves them alone)."""
    mapper = app.mapper
    fast = mapper.cipher is None and mapper.compressor is None

    def decode(record: LogRecord) -> dict[str, Any]:
        if fast and _OTHER_TYPE.search(record.state) is None:
            fields: dict[str, Any] = orjson.loads(record.state)
            return fields
        event = mapper.to_domain_event(StoredEvent(
            originator_id=UUID(record.originator_id),
            originator_version=record.originator_version, topic=record.topic,
            state=bytes(record.state)))
        return {k: plain(v) for k, v in event.__dict__.items()}

    return decode


def plain_decoder(app: Application[Any]) -> Callable[[LogRecord], dict[str, Any]]:
    """A function from a record to its event's fields as plain JSON values."""
    decode = fields_decoder(app)

    def plain_fields(record: LogRecord) -> dict[str, Any]:
        return {k: unwrap(v) for k, v in decode(record).items()}

    return plain_fields


def plain(value: Any) -> Any:
    """A domain value (Money, Posting, date, UUID ...) as plain JSON."""
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, Posting):
        return {"source": value.source, "target": value.target, "amount": str(value.amount)}
    if isinstance(value, datetime):
        return format_recorded_at(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value
