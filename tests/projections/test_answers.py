"""Current answers are kept until the projections move on, and never outlive min_position."""

from __future__ import annotations

import threading
import time
from datetime import date

from ledger import Settings, build_ledger
from projections import build_read_models
from projections.answers import Answers
from tests.support.scenario import CLERK, funded_phase, money, recipients


def test_a_current_answer_is_kept_until_the_projections_move_on(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger, keep_answers=True)
    try:
        f = funded_phase(ledger)
        [rid] = recipients(ledger, 1)
        read_models.catch_up()
        first = read_models.phase_totals(f.phase_id)
        assert read_models.phase_totals(f.phase_id) is first  # kept, not recomputed
        assert read_models.phase_totals(f.phase_id, at=first["position"]) is not first
        assert read_models.peek(read_models.phase_totals, f.phase_id) is first
        assert read_models.peek(read_models.phase_totals, f.phase_id, at=0) is None
        assert read_models.reached(first["position"])  # known without a look at the log
        assert not read_models.reached(first["position"] + 1_000_000)

        result = ledger.submit_application(CLERK, phase_id=f.phase_id, recipient_id=rid,
                                           requested_amount=money("100.00"),
                                           submitted_on=date(f.year, 2, 1))
        assert read_models.wait_for(result.position, timeout=30)  # a busy machine: > 5 s
        after = read_models.phase_totals(f.phase_id)

        assert after["position"] >= result.position
        assert read_models.peek(read_models.phase_totals, f.phase_id) in (after, None)
        assert after["requested"] == "100.00" and first["requested"] == "0.00"
    finally:
        read_models.close()
        ledger.close()


def test_a_long_page_is_not_kept(sql_database_url: str):
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read_models = build_read_models(settings, ledger, keep_answers=True)
    try:
        funded_phase(ledger)
        recipients(ledger, 120)
        read_models.catch_up()

        short = read_models.audit(limit=2)
        long = read_models.audit(limit=1000)

        assert len(long["items"]) > 100
        assert read_models.audit(limit=2) is short
        assert read_models.audit(limit=1000) is not long
    finally:
        read_models.close()
        ledger.close()


class _OverlappingReads:
    """A database whose first read of the live positions is overtaken by a second one."""

    def __init__(self) -> None:
        self.answers: Answers | None = None
        self.reads = 0

    def fetch(self, sql: str, params: object = ()) -> list[tuple[str, str, int]]:
        self.reads += 1
        if self.reads == 1:
            assert self.answers is not None
            self.answers.refresh()  # begins later, sees the newer position, ends first
            return [("grants", "v1", 10)]
        return [("grants", "v1", 20)]


def test_an_older_read_of_the_live_position_never_replaces_a_newer_one():
    db = _OverlappingReads()
    answers = Answers(db)  # type: ignore[arg-type]  # only fetch is used
    db.answers = answers

    answers.refresh()

    assert answers.live() == {"grants": ("v1", 20)}
    assert answers.reached(20)


class _CountedReads:
    def __init__(self) -> None:
        self.reads = 0

    def fetch(self, sql: str, params: object = ()) -> list[tuple[str, str, int]]:
        self.reads += 1
        return [("grants", "v1", self.reads)]


def test_reads_ahead_of_need_are_made_by_one_thread_that_close_stops():
    db = _CountedReads()
    answers = Answers(db, max_age_seconds=0.004)  # type: ignore[arg-type]  # only fetch
    answers.refresh()
    before = set(threading.enumerate())

    deadline = time.monotonic() + 10
    while db.reads < 5 and time.monotonic() < deadline:
        answers.peek("grants", ("phase_totals",))  # past half its age: wakes the reader
        time.sleep(0.003)
    started = [t for t in threading.enumerate() if t not in before]
    answers.close()

    assert db.reads >= 5  # read again and again ahead of need …
    assert [t.name for t in started] == ["live-position"]  # … by one thread
    assert not started[0].is_alive()
    assert answers.peek("grants", ("phase_totals",)) is None  # closed: nothing kept is fresh
