"""Event base carrying the metadata every ledger event has (SPEC §2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from eventsourcing.domain import Aggregate

from ledger.errors import ValidationFailed

# Namespace for the deterministic aggregate ids of named entities.
LEDGER_NAMESPACE = uuid.UUID("5f0c1d9e-7a43-4c7e-9a55-2a6f3e1b8d11")


def entity_uuid(kind: str, name: str) -> uuid.UUID:
    """The aggregate id of a named entity (programme, phase, recipient, key)."""
    return uuid.uuid5(LEDGER_NAMESPACE, f"{kind}:{name}")


@dataclass(frozen=True)
class Actor:
    """Who issues a command, as the caller authenticated them."""

    user: str
    role: str
    correlation_id: str
    idempotency_key: str | None = None


class LedgerAggregate(Aggregate):
    """Base aggregate: every event carries effective date, actor, role, reason,
    correlation id and idempotency key; money events also carry postings."""

    # True for aggregates with no events after their first: decisions that read
    # them need no read guard (see LedgerCore._execute).
    IMMUTABLE: ClassVar[bool] = False

    class Event(Aggregate.Event):
        effective_date: date
        actor: str
        role: str
        reason: str | None
        correlation_id: str
        idempotency_key: str | None

    class Created(Event, Aggregate.Created):
        pass

    @classmethod
    def start(
        cls,
        event_class: type[Any],
        actor: Actor,
        *,
        id: uuid.UUID,  # eventsourcing's name for the aggregate id
        effective_date: date,
        reason: str | None = None,
        **fields: Any,
    ) -> Self:
        """Create the aggregate with its first event and the common metadata."""
        return cls._create(
            event_class,
            id=id,
            effective_date=effective_date,
            reason=reason,
            **metadata(actor),
            **fields,
        )

    def _emit(
        self,
        event_class: type[Any],
        actor: Actor,
        *,
        effective_date: date,
        reason: str | None = None,
        **fields: Any,
    ) -> None:
        self.trigger_event(
            event_class,
            effective_date=effective_date,
            reason=reason,
            **metadata(actor),
            **fields,
        )


def metadata(actor: Actor) -> dict[str, Any]:
    return {
        "actor": actor.user,
        "role": actor.role,
        "correlation_id": actor.correlation_id,
        "idempotency_key": actor.idempotency_key,
    }


def required_reason(reason: str | None, *, what: str) -> str:
    """Corrections, revocations, rejections and withdrawals need a reason."""
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(f"reason: a reason is required to {what}")
    if len(text) > 2000:
        raise ValidationFailed("reason: at most 2000 characters")
    return text
