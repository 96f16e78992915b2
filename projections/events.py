"""Events as the projections see them: plain JSON values, decoded once per batch.

A `LoggedEvent` holds the event's fields as JSON-ready values (money as "0.00"
strings, dates as ISO strings, postings as {source, target, amount} dicts) with
its position, recorded time and hash. The log is read, and decoded, the way the
write side's persistence offers it (ledger.persistence.log).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger import Ledger
from ledger.persistence.log import LogRecord, fields_decoder, unwrap

METADATA = ("effective_date", "actor", "role", "reason", "correlation_id", "idempotency_key")
_INTERNAL = ("originator_id", "originator_version", "timestamp", "originator_topic")


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
        self.fields = fields  # values may still be in the transcoder's envelopes

    @property
    def effective_date(self) -> str:
        return str(unwrap(self.fields["effective_date"]))

    def field(self, name: str, default: Any = None) -> Any:
        value = self.fields.get(name)
        return default if value is None else unwrap(value)

    def postings(self) -> list[dict[str, str]]:
        return list(unwrap(self.fields.get("postings", [])))


def data_of(fields: dict[str, Any]) -> dict[str, Any]:
    """An event's own fields (not its metadata) as plain values."""
    return {k: unwrap(v) for k, v in fields.items() if k not in METADATA and k not in _INTERNAL}


def decode(ledger: Ledger, records: Sequence[LogRecord]) -> list[LoggedEvent]:
    """Events as the projections see them, from records of the log (ledger.persistence.log)."""
    fields_of = fields_decoder(ledger)
    return [LoggedEvent(r.position, r.recorded_at, r.hash, r.originator_id,
                        originator_version=r.originator_version, topic=r.topic,
                        fields=fields_of(r))
            for r in records]


def cents(amount: str) -> int:
    """A plain money value ("-1234.50") as integer cents."""
    whole, _, fraction = amount.partition(".")
    value = abs(int(whole)) * 100 + int((fraction + "00")[:2])
    return -value if amount.startswith("-") else value


def eur(value: int) -> str:
    """Integer cents as a EUR string with two decimals: the digits of the cents with a
    point before the last two (exact at any size; a third less time than `divmod` and a
    padded format, and half that of a Decimal's; an answer writes dozens)."""
    if not -100 < value < 100:
        digits = str(value)  # (with its sign: at least three digits after it)
        return f"{digits[:-2]}.{digits[-2:]}"
    return f"{'-' if value < 0 else ''}0.{abs(value):02d}"
