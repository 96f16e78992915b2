"""JSON transcodings for the ledger's value types (money, dates, postings), and the
transcoder that writes them: eventsourcing's, with orjson where it gives the same bytes."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
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


# Types orjson writes itself, whatever the default: they must not take its fast path, since
# eventsourcing's encoder hands them to a transcoding (a UUID is {"_type_": "uuid_hex", ...}).
_NATIVE = (UUID, Enum, str, int, float, dict, list, tuple)
# Dates and dataclasses (Money, Posting) go to `default`, like every other registered type.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


_STR = frozenset({str})


class _NotPlain(Exception):
    """A transcoding returned something the fast path does not vouch for."""


class LedgerTranscoder(JSONTranscoder):
    """eventsourcing's JSONTranscoder, encoding with orjson (~5x faster) when the state holds
    only what both write alike: str (and StrEnum), int, bool, None, dicts with str keys,
    lists, tuples, and registered types orjson leaves to `default`. Anything else (a float, a
    UUID, an int beyond 64 bits) goes through eventsourcing's encoder, so the bytes stored
    are always the ones it would write (tests/unit/test_transcoder.py); decoding is its own."""

    def __init__(self) -> None:
        super().__init__()
        self._leaves: set[type] = {str, int, bool, type(None)}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        if not issubclass(transcoding.type, _NATIVE):
            self._leaves.add(transcoding.type)

    def encode(self, obj: Any) -> bytes:
        if self._plain(obj):
            try:
                return orjson.dumps(obj, default=self._default, option=_OPTIONS)
            except orjson.JSONEncodeError:  # an int beyond 64 bits, a lone surrogate, ...
                pass
        return super().encode(obj)

    def _default(self, value: Any) -> dict[str, Any]:
        transcoding = self.types[type(value)]  # registered: `_plain` let it through
        data = transcoding.encode(value)
        if type(data) is not str and not self._plain(data):
            raise _NotPlain  # orjson raises it as a JSONEncodeError: eventsourcing's path
        return {"_type_": transcoding.name, "_data_": data}

    def _plain(self, value: Any) -> bool:
        """Whether orjson writes `value` as eventsourcing's encoder does. This runs for every
        event written: the types of a container's items are collected in C, and only
        containers within containers are looked into one by one."""
        kind = type(value)
        if kind is dict:
            if not set(map(type, value)) <= _STR:
                return False
            items: Any = value.values()
        elif kind is list or kind is tuple:
            items = value
        elif kind in self._leaves:
            return True
        else:  # a StrEnum: both write its text
            return isinstance(value, str) and (
                not isinstance(value, Enum) or value.value == str.__str__(value))
        leaves = self._leaves
        return set(map(type, items)) <= leaves or all(
            map(self._plain, [item for item in items if type(item) not in leaves]))
