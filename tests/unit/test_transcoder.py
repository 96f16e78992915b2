"""The ledger's transcoder writes exactly the bytes of eventsourcing's JSONTranscoder, so
stored states (and the hashes over them) do not depend on which of the two wrote them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import Money, Posting
from ledger.persistence.transcodings import LedgerTranscoder, register_ledger_transcodings


def transcoders() -> tuple[JSONTranscoder, LedgerTranscoder]:
    pair = (JSONTranscoder(), LedgerTranscoder())
    for transcoder in pair:  # what the Ledger application registers
        transcoder.register(UUIDAsHex())
        transcoder.register(DecimalAsStr())
        transcoder.register(DatetimeAsISO())
        register_ledger_transcodings(transcoder)
    return pair


REFERENCE, FAST = transcoders()


class Colour(Enum):
    RED = "red"


class Status(StrEnum):
    OPEN = "open"


money = st.decimals(min_value=-10**12, max_value=10**12, places=2,
                    allow_nan=False, allow_infinity=False).map(Money)
leaves = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text() | money
          | st.dates() | st.datetimes(timezones=st.just(UTC)) | st.uuids()
          | st.decimals(allow_nan=False, allow_infinity=False)
          | st.builds(Posting, st.text(), st.text(), money)
          | st.floats(allow_nan=False) | st.just(Status.OPEN))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@given(state=st.dictionaries(st.text(), values, max_size=8))
def test_writes_the_bytes_of_eventsourcings_encoder(state: dict[str, Any]) -> None:
    assert FAST.encode(state) == REFERENCE.encode(state)


def test_an_event_state_of_the_ledger_takes_the_fast_path_and_round_trips() -> None:
    state = {"timestamp": datetime(2020, 3, 1, 12, 0, tzinfo=UTC), "actor": "clerk",
             "effective_date": date(2020, 3, 1), "requested_amount": Money(Decimal("10.50")),
             "measures": [{"category": "it", "amount": Money(Decimal("10.50"))}],
             "postings": [Posting("a", "b", Money(Decimal("1.00")))], "reference": None}

    encoded = FAST.encode(state)

    assert FAST._plain(state)
    assert FAST._plain({"status": Status.OPEN})
    assert encoded == REFERENCE.encode(state)
    assert FAST.decode(encoded) == state


@pytest.mark.parametrize("value", [UUID(int=1), 1.5, {1: "a"}])
def test_what_orjson_would_write_otherwise_takes_eventsourcings_path(value: Any) -> None:
    assert not FAST._plain({"v": value})
    assert FAST.encode({"v": value}) == REFERENCE.encode({"v": value})


def test_an_int_beyond_orjsons_range_falls_back_to_eventsourcings_encoder() -> None:
    assert FAST.encode({"v": 2**70}) == REFERENCE.encode({"v": 2**70}) == b'{"v":%d}' % 2**70


def test_an_unregistered_type_is_refused_as_before() -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        FAST.encode({"v": Colour.RED})
    with pytest.raises(TranscodingNotRegisteredError):
        REFERENCE.encode({"v": Colour.RED})
