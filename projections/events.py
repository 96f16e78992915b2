"""Events as the projections see them: decoded once per batch, with their place in the log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger import Ledger, Money, Posting
from ledger.persistence.chain import ChainedEvent, format_recorded_at

METADATA = ("effective_date", "actor", "role", "reason", "correlation_id", "idempotency_key")
_INTERNAL = ("originator_id", "originator_version", "timestamp")


@dataclass(frozen=True)
class LoggedEvent:
    """A domain event with its position, recorded time and hash."""

    position: int
    recorded_at: str
    hash: str
    originator_id: str
    originator_version: int
    aggregate: str  # "Application", "Programme", ...
    event_type: str  # "Approved", ...
    event: Any

    @property
    def effective_date(self) -> str:
        return str(self.event.effective_date.isoformat())

    def field(self, name: str, default: Any = None) -> Any:
        return self.event.__dict__.get(name, default)

    def postings(self) -> list[Posting]:
        return list(self.event.__dict__.get("postings", []))

    def data(self) -> dict[str, Any]:
        """The event's own fields (not the metadata) as JSON-ready values."""
        return {
            k: plain(v)
            for k, v in self.event.__dict__.items()
            if k not in METADATA and k not in _INTERNAL
        }


def decode(ledger: Ledger, rows: Sequence[ChainedEvent]) -> list[LoggedEvent]:
    mapper = ledger.mapper
    result = []
    for row in rows:
        event = mapper.to_domain_event(
            StoredEvent(
                originator_id=row.originator_id,
                originator_version=row.originator_version,
                topic=row.topic,
                state=row.state,
            )
        )
        qualname = row.topic.rsplit(":", 1)[-1]
        aggregate, _, event_type = qualname.rpartition(".")
        result.append(
            LoggedEvent(
                position=row.position,
                recorded_at=format_recorded_at(row.recorded_at),
                hash=row.hash.hex(),
                originator_id=str(row.originator_id),
                originator_version=row.originator_version,
                aggregate=aggregate.split(".")[0],
                event_type=event_type,
                event=event,
            )
        )
    return result


def cents(amount: Money) -> int:
    return int(amount.amount * 100)


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
