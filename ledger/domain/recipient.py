"""A recipient: a local authority that may apply for grants."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from ledger.domain.base import LedgerAggregate, entity_uuid


class Recipient(LedgerAggregate):
    # A recipient never changes after registration: reading one needs no read guard.
    IMMUTABLE = True

    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        recipient_id: str
        name: str
        kind: str
        population: int | None
        district_id: str | None

    @staticmethod
    def id_for(recipient_id: str) -> UUID:
        return entity_uuid("recipient", recipient_id)

    class Registered(LedgerAggregate.Created):
        recipient_id: str
        name: str
        kind: str
        population: int | None
        district_id: str | None

        def apply(self, recipient: Recipient) -> None:
            recipient.recipient_id = self.recipient_id
            recipient.name = self.name
            recipient.kind = self.kind
            recipient.population = self.population
            recipient.district_id = self.district_id
