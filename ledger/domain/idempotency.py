"""Idempotency keys (I12), kept by the ledger so every entry point honours them.

A key is scoped to the user who sent it: the record's id derives from (user, key),
so two users' identical keys never meet, and no user can claim (or learn about)
a key another user is about to send.

The record is saved in the same atomic `save()` as the command's events: two
concurrent requests with one key cannot both write, because both try to create
version 1 of the same aggregate.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate, entity_uuid
from ledger.errors import IdempotencyMismatch


class IdempotencyRecord(LedgerAggregate):
    if TYPE_CHECKING:  # state set by the events' apply(); not dataclass fields
        key: str
        command: str
        fingerprint: str
        result: dict[str, Any]

    @staticmethod
    def id_for(user: str, key: str) -> UUID:
        # JSON keeps (user, key) unambiguous whatever characters either holds.
        return entity_uuid("idempotency", json.dumps([user, key]))

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



def check_same_request(key: str, first: str, first_command: str, fingerprint: str) -> None:
    """I12: a key used again must carry the same request (fingerprint) as its first use.
    The first use is the caller's own: keys are scoped to their user."""
    if first != fingerprint:
        raise IdempotencyMismatch(
            f"idempotency key {key!r} was used for a different request ({first_command})")
