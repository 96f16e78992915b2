"""Current answers are kept until the projections move on, and never outlive min_position."""

from __future__ import annotations

from datetime import date

from ledger import Settings, build_ledger
from projections import build_read_models
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
        assert read_models.wait_for(result.position)
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
