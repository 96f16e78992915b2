"""`as_of` a time: the last position recorded at or before it, on every store — with the
links of one commit sharing their time (a bulk save), and times between commits."""

from __future__ import annotations

from datetime import timedelta

from ledger import Ledger
from ledger.persistence.chain import BULK_EVENTS
from tests.support.scenario import funded_phase, recipients


def test_a_time_maps_to_the_last_position_recorded_at_or_before_it(ledger: Ledger) -> None:
    funded_phase(ledger)
    recipients(ledger, BULK_EVENTS + 10)  # one commit: its links share one time
    recipients(ledger, 3)
    recorder = ledger.chained_recorder
    links = list(recorder.select_chain(after=0, limit=10**6))
    last_at: dict[object, int] = {}
    for link in links:
        last_at[link.recorded_at] = link.position
    assert len(links) - len(last_at) >= BULK_EVENTS  # the bulk commit's links share a time
    tick = timedelta(microseconds=1)

    for moment, position in last_at.items():
        before = max((p for t, p in last_at.items() if t < moment), default=0)
        assert recorder.position_at(moment) == position
        # up to the next commit, and back to the one before
        assert recorder.position_at(moment + tick) == last_at.get(moment + tick, position)
        assert recorder.position_at(moment - tick) == last_at.get(moment - tick, before)
    assert recorder.position_at(links[0].recorded_at - tick) == 0
    assert recorder.position_at(links[-1].recorded_at + timedelta(days=1)) == links[-1].position
