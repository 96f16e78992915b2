"""A database from before the lookup table gets it filled from the entity states at start,
with exactly the rows a replay writes (issue 10)."""

from __future__ import annotations

from datetime import date

from ledger import Settings, build_ledger
from projections import base
from projections.lookups import LOOKUP
from projections.read_models import build_read_models
from tests.projections.helpers import run_story
from tests.support.scenario import CLERK, funded_phase, money, recipients


def _rows(read) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    with read.db.read() as tx:
        tag = str(tx.execute(base.SELECT_LIVE_POSITION, ("grants",))[0][1])
        return LOOKUP.rows(tx, tag)


def test_an_empty_lookup_table_is_filled_as_a_replay_would(sql_database_url: str) -> None:
    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    read = build_read_models(settings, ledger)
    run_story(ledger, read)
    other, spare = funded_phase(ledger), recipients(ledger, 1)[0]  # the story's year closes
    ledger.submit_application(CLERK, phase_id=other.phase_id, recipient_id=spare,
                              requested_amount=money("10.00"), submitted_on=date(2020, 3, 2),
                              reference="DA-2020/0017")
    read.catch_up()
    replayed = _rows(read)
    with read.db.write() as tx:  # as an earlier release left it: the table made, empty
        tag = str(tx.execute(base.SELECT_LIVE_POSITION, ("grants",))[0][1])
        tx.execute(f"DELETE FROM {LOOKUP.name(tag)}")
    read.close()

    again = build_read_models(settings, ledger)
    try:
        filled = _rows(again)
        found = again.recipients(text="gemeinde")
        by_reference = again.applications(reference="da 2020 0017")
    finally:
        again.close()
        ledger.close()

    assert replayed and sorted(filled) == sorted(replayed)
    assert found["total"] >= 1 and by_reference["total"] == 1
    assert {row[0] for row in filled} == {"recipient", "application"}
