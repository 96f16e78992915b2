"""JSON transcodings for the ledger's value types (money, dates, postings)."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from ledger.money import Money, Posting


class MoneyAsStr(Transcoding):
    type = Money
    name = "money"

    def encode(self, obj: Money) -> str:
        return str(obj)

    def decode(self, data: str) -> Money:
        return Money.parse(data)


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class PostingAsDict(Transcoding):
    type = Posting
    name = "posting"

    def encode(self, obj: Posting) -> dict[str, Any]:
        return {"source": obj.source, "target": obj.target, "amount": obj.amount}

    def decode(self, data: dict[str, Any]) -> Posting:
        return Posting(data["source"], data["target"], data["amount"])


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(MoneyAsStr())
    transcoder.register(DateAsISO())
    transcoder.register(PostingAsDict())
