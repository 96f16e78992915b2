"""Events as the projections see them: decoded once per batch into plain JSON values.

A `LoggedEvent` holds the event's fields as JSON-ready values (money as "0.00"
strings, dates as ISO strings, postings as {source, target, amount} dicts) with
its position, recorded time and hash. The ledger stores events as JSON whose
typed values are `{"_type_": ..., "_data_": ...}`; the `_data_` *is* the plain
form, so one `json.loads` with a small hook decodes an event, with no domain
objects built. Anything unfamiliar (a cipher, a compressor, an unknown type)
goes through eventsourcing's mapper instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger import Ledger, Money, Posting
from ledger.persistence.chain import ChainedEvent, format_recorded_at

METADATA = ("effective_date", "actor", "role", "reason", "correlation_id", "idempotency_key")
_INTERNAL = ("originator_id", "originator_version", "timestamp", "originator_topic")
_PLAIN_TYPES = frozenset(("money", "date", "datetime_iso", "posting"))

# A row of the log as the projections' own query reads it: position, originator id,
# version, topic, state, recorded_at (datetime, or the chain's text form), hash.
LogRow = tuple[int, Any, int, str, bytes, Any, bytes]


class LoggedEvent:
    """One event of the log with its place in it; `fields` are plain JSON values."""

    __slots__ = ("aggregate", "event_type", "fields", "hash", "originator_id",
                 "originator_version", "position", "recorded_at")

    def __init__(self, position: int, recorded_at: str, hash: str, originator_id: str, *,
                 originator_version: int, topic: str, fields: dict[str, Any]) -> None:
        self.position = position
        self.recorded_at = recorded_at
        self.hash = hash
        self.originator_id = originator_id
        self.originator_version = originator_version
        qualname = topic.rsplit(":", 1)[-1]
        aggregate, _, self.event_type = qualname.rpartition(".")
        self.aggregate = aggregate.split(".")[0]  # "Application", "Programme", ...
        self.fields = fields

    @property
    def effective_date(self) -> str:
        return str(self.fields["effective_date"])

    def field(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def postings(self) -> list[dict[str, str]]:
        return list(self.fields.get("postings", []))

    def data(self) -> dict[str, Any]:
        """The event's own fields (not the metadata)."""
        return {k: v for k, v in self.fields.items() if k not in METADATA and k not in _INTERNAL}


class _Unfamiliar(Exception):
    pass


def _hook(d: dict[str, Any]) -> Any:
    kind = d.get("_type_")
    if kind is None:
        return d
    if kind not in _PLAIN_TYPES or "_data_" not in d:
        raise _Unfamiliar(kind)
    return d["_data_"]


def decode_rows(ledger: Ledger, rows: Sequence[LogRow]) -> list[LoggedEvent]:
    """Decode rows read straight from the log's tables."""
    fast = ledger.mapper.cipher is None and ledger.mapper.compressor is None
    result = []
    for position, originator_id, version, topic, state, recorded_at, digest in rows:
        oid = str(originator_id) if isinstance(originator_id, UUID) else str(UUID(originator_id))
        fields = None
        if fast:
            try:
                fields = json.loads(state, object_hook=_hook)
            except _Unfamiliar:
                fields = None
        if fields is None:
            event = ledger.mapper.to_domain_event(StoredEvent(
                originator_id=UUID(oid), originator_version=version, topic=topic,
                state=bytes(state)))
            fields = {k: plain(v) for k, v in event.__dict__.items()}
        result.append(LoggedEvent(
            int(position),
            recorded_at if isinstance(recorded_at, str) else format_recorded_at(recorded_at),
            bytes(digest).hex(), oid, originator_version=int(version), topic=topic,
            fields=fields,
        ))
    return result


def decode(ledger: Ledger, rows: Sequence[ChainedEvent]) -> list[LoggedEvent]:
    """Decode events from the recorder (the in-memory store)."""
    return decode_rows(ledger, [
        (r.position, r.originator_id, r.originator_version, r.topic, r.state, r.recorded_at,
         r.hash) for r in rows
    ])


def cents(amount: str) -> int:
    """A plain money value ("-1234.50") as integer cents."""
    whole, _, fraction = amount.partition(".")
    value = abs(int(whole)) * 100 + int((fraction + "00")[:2])
    return -value if amount.startswith("-") else value


def eur(value: int) -> str:
    """Integer cents as a EUR string with two decimals."""
    return f"{Decimal(value) / 100:.2f}"


def plain(value: Any) -> Any:
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
