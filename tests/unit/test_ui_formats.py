"""The dashboard's formats and its view plumbing, without a server."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.auth import Principal
from api.feed import Filter, frame
from api.ui import formats
from api.ui.session import safe_next
from api.ui.view import View
from ledger.domain.base import entity_uuid
from ledger.persistence.log import LogRecord


def test_money_in_german_and_english() -> None:
    assert formats.money("1234567.89") == "1.234.567,89\u00a0€"
    assert formats.money("0.00") == "0,00\u00a0€"
    assert formats.money("-5.10") == "−5,10\u00a0€"
    assert formats.money("1234567.89", "en") == "€1,234,567.89"


def test_dates_and_moments() -> None:
    assert formats.day("2020-12-31") == "31.12.2020"
    assert formats.day(None) == ""
    assert formats.moment("2020-12-31T23:30:00+00:00") == "01.01.2021, 00:30:00"  # Berlin
    assert formats.from_local("2021-01-01T00:30:00").isoformat() == "2020-12-31T23:30:00+00:00"
    assert formats.local_input("2020-06-30T22:00:00+00:00") == "2020-07-01T00:00:00"  # CEST


def _view(**kwargs: Any) -> View:
    return View(user=Principal("ida", frozenset({"auditor"})), path="/ui/phases/p", **kwargs)


def test_view_urls_keep_the_view_and_drop_what_is_unset() -> None:
    view = _view(lang="en", as_of_position=42, effective_on=date(2020, 12, 31))

    assert view.url("/ui/x") == "/ui/x?lang=en&as_of_position=42&effective_on=2020-12-31"
    assert view.url("/ui/x", as_of_position=None, cursor="c") == (
        "/ui/x?lang=en&effective_on=2020-12-31&cursor=c")
    assert _view().url("/ui/x") == "/ui/x"


def test_view_passes_effective_on_to_a_read_model_that_takes_it() -> None:
    seen: dict[str, Any] = {}

    def phase_totals(phase_id: str, *, at: int | None = None,
                     effective_on: date | None = None) -> dict[str, Any]:
        seen.update(at=at, effective_on=effective_on)
        return {}

    def phase(phase_id: str, *, at: int | None = None) -> dict[str, Any]:
        return {}

    def reconciliation(programme_id: str, *, at: int | None = None) -> dict[str, Any]:
        return {}

    view = _view(effective_on=date(2020, 12, 31), at=7)

    view.read(phase_totals, "p")
    view.read(phase, "p")  # a state, as recorded: no cut-off to take
    assert seen == {"at": 7, "effective_on": date(2020, 12, 31)}
    assert not view.cut_off_unsupported
    view.read(reconciliation, "p")
    assert view.cut_off_unsupported  # a figure without it: said on the page


def test_sign_in_returns_only_to_dashboard_paths() -> None:
    assert safe_next("/ui/phases/2020-1?lang=en") == "/ui/phases/2020-1?lang=en"
    for hostile in ("https://evil.example/", "//evil.example/ui", "/docs", "/ui\\..", None):
        assert safe_next(hostile) == "/ui"


def _record(originator: str, topic: str) -> LogRecord:
    return LogRecord(1, originator, 1, topic, b"{}", "2020-01-01T00:00:00+00:00", "ab")


def test_feed_filter_by_type_and_entity() -> None:
    phase = str(entity_uuid("phase", "2020-1"))
    approved = _record(phase, "ledger.domain.phase:Phase.Opened")

    assert Filter.of([], []).passes(approved)
    assert Filter.of(["Opened"], []).passes(approved)
    assert Filter.of(["Phase.Opened"], ["2020-1"]).passes(approved)
    assert not Filter.of(["Approved"], []).passes(approved)
    assert not Filter.of([], ["2020-2"]).passes(approved)


def test_sse_frame() -> None:
    assert frame(data='{"a":1}', event_id=5) == b'id: 5\ndata: {"a":1}\n\n'


class _Read:
    """A read side with the lookups' search (`text`) and programme list."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def applications(self, *, phase_id: str | None = None, recipient_id: str | None = None,
                     text: str | None = None, cursor: str | None = None, limit: int = 100,
                     at: int | None = None) -> dict[str, Any]:
        self.asked.append({"recipient_id": recipient_id, "text": text})
        items = [{"application_id": "a1", "recipient_id": "r1", "recipient_name": "Bruchköbel",
                  "phase_id": phase_id}] if text == "Bruch" else []
        return {"items": items, "next_cursor": None, "position": 9}

    def programmes(self, *, cursor: str | None = None, limit: int = 100,
                   at: int | None = None) -> dict[str, Any]:
        return {"items": [{"programme_id": "p", "name": "P"}], "position": 9}


def test_search_and_programmes_use_the_read_sides_own_lookups() -> None:
    from api.ui import contexts

    read = _Read()

    found = contexts._applications(_view(), read, "2020-1", search="Bruch",  # type: ignore[arg-type]
                                   cursor=None)
    listed = contexts.programmes(_view(), read)  # type: ignore[arg-type]

    assert [a["recipient_name"] for a in found["items"]] == ["Bruchköbel"]
    assert read.asked == [{"recipient_id": None, "text": "Bruch"}]
    assert listed["programmes"] == [{"programme_id": "p", "name": "P"}]


def test_head_watch_wakes_waiters_and_survives_an_unreadable_head() -> None:
    import asyncio

    from api.feed import HeadWatch

    heads = iter([RuntimeError("store away"), 3, 3, 5])

    def head() -> int:
        value = next(heads, 5)
        if isinstance(value, Exception):
            raise value
        return value

    async def scenario() -> tuple[bool, bool, bool]:
        watch = HeadWatch(head, interval=0.01)
        beyond_2 = await watch.wait_beyond(2, timeout=3)
        beyond_4 = await watch.wait_beyond(4, timeout=3)
        beyond_9 = await watch.wait_beyond(9, timeout=0.1)
        return beyond_2, beyond_4, beyond_9

    assert asyncio.run(scenario()) == (True, True, False)
