"""Scale: a national-shaped log of ~40,000 events on PostgreSQL, projected and verified.

Slow (about a minute): runs in CI (`scripts/test.sh` selects slow tests too), not in a
plain `pytest`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import Settings, build_ledger
from projections import build_read_models
from scripts import bench

pytestmark = pytest.mark.slow


def test_forty_thousand_events_reconcile_and_replay_identically(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url)
    ledger = build_ledger(settings)
    report = bench.Report(machine={})
    written, _ = bench.generate_log(ledger, report, events=40_000, batch=250)
    shape = bench.shape_for(40_000)
    read_models = build_read_models(settings, ledger)

    read_models.catch_up()

    assert written >= 38_000
    award = Decimal("20000.00")
    for year in range(bench.START_YEAR, bench.START_YEAR + bench.YEARS):
        totals = read_models.phase_totals(f"nat-{year}")
        assert Decimal(totals["awarded"]) == award * shape.per_phase
        assert Decimal(totals["paid"]) == award * shape.per_phase
        assert Decimal(totals["outstanding"]) == 0
        # each application carries its recipient's registered kind (not all "gemeinde")
        kinds = {kind for kind, cell in totals["by_kind"].items() if cell["awarded"] != "0.00"}
        assert kinds == {"gemeinde", "stadt", "kreisfreie_stadt"}, totals["by_kind"]
        reconciliation = read_models.reconciliation("bench-national", year)
        assert reconciliation["balanced"], reconciliation["checks"]
        assert Decimal(reconciliation["paid_in_year"]) == award * shape.per_phase
    accounts = read_models.accounts("bench-national")
    assert accounts["total"] == "0.00"
    assert ledger.verify_chain().verified
    assert read_models.verify().ok
    read_models.close()
    ledger.close()
