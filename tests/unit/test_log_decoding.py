"""How the log's readers decode a stored event (ledger/persistence/log.py `fields_decoder`):
JSON whose typed values are all of the ledger's plain types (money, date, datetime, posting)
is parsed as it is, at full speed; any other typed value goes through eventsourcing's mapper,
so nothing the fast path does not understand is read as if it did."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger import Ledger
from ledger.persistence.log import LogRecord, fields_decoder, plain_decoder


@pytest.fixture
def ledger() -> Any:
    from tests.support.scenario import approved, funded_phase, recipients

    ledger = Ledger(env={"PERSISTENCE_MODULE": "ledger.persistence.popo:ChainedPOPOFactory"})
    f = funded_phase(ledger, budget="1000.00", envelope="1000.00")
    approved(ledger, f, recipients(ledger, 1)[0], "100.00")
    yield ledger
    ledger.close()


def _mapped(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The topics of the records the mapper decoded (spied on)."""
    calls: list[str] = []
    mapper = ledger.mapper
    original = mapper.to_domain_event

    def spy(stored: Any) -> Any:
        calls.append(stored.topic)
        return original(stored)

    monkeypatch.setattr(mapper, "to_domain_event", spy)
    return calls


def test_plain_typed_values_are_parsed_without_the_mapper(ledger, monkeypatch) -> None:
    records = ledger.chained_recorder.read_log(after=0, limit=1000)
    calls = _mapped(ledger, monkeypatch)

    fields = [fields_decoder(ledger)(r) for r in records]

    assert calls == []
    assert any(f.get("effective_date", {}).get("_type_") == "date" for f in fields)
    assert any(f.get("amount", {}).get("_type_") == "money" for f in fields)


# Registered with eventsourcing's transcoder, but not plain: (stored data, decoded value).
REGISTERED = {"uuid_hex": ("0123456789abcdef0123456789abcdef",
                           "01234567-89ab-cdef-0123-456789abcdef"),
              "decimal_str": ("1.50", Decimal("1.50"))}


@pytest.mark.parametrize("type_name", ["uuid_hex", "decimal_str", "money_x", "dat"])
def test_any_other_typed_value_goes_through_the_mapper(ledger, monkeypatch,
                                                       type_name: str) -> None:
    """A type the fast path does not know, even one whose name starts like a known one or
    is a known one's start, sends the record to eventsourcing's mapper, which decodes the
    registered types and refuses an unknown one."""
    record = ledger.chained_recorder.read_log(after=0, limit=1)[0]
    value, decoded = REGISTERED.get(type_name, ("1", None))
    state = record.state.replace(
        b"{", b'{"extra": {"_type_": "%s", "_data_": "%s"}, ' % (type_name.encode(),
                                                                 value.encode()), 1)
    calls = _mapped(ledger, monkeypatch)
    changed = LogRecord(*(state if name == "state" else getattr(record, name)
                          for name in LogRecord._fields))

    if decoded is not None:
        assert plain_decoder(ledger)(changed)["extra"] == decoded
    else:
        with pytest.raises(Exception, match=type_name):
            fields_decoder(ledger)(changed)
    assert calls == [record.topic]
