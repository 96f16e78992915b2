"""Idempotency keys (I12), kept by the ledger so every entry point honours them.

The record is saved in the same atomic `save()` as the command's events: two
concurrent requests with one key cannot both write, because both try to create
version 1 of the same aggregate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate, entity_uuid


class IdempotencyRecord(LedgerAggregate):
    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        key: str
        command: str
        fingerprint: str
        result: dict[str, Any]

    @staticmethod
    def id_for(key: str) -> UUID:
        return entity_uuid("idempotency", key)

    class Recorded(LedgerAggregate.Created):
        key: str
        command: str
        fingerprint: str
        result: dict[str, Any]

        def apply(self, record: IdempotencyRecord) -> None:
            record.key = self.key
            record.command = self.command
            record.fingerprint = self.fingerprint
            record.result = dict(self.result)

