"""The full Starke Heimat Hessen 2020 scenario: 443 authorities, 16,000,000.00 EUR."""

from __future__ import annotations

from decimal import Decimal

from ledger import Settings, build_ledger
from projections import build_read_models


def test_2020_scenario_reconciles_to_the_cent(sql_database_url: str):
    from scripts.demo_data import load_2020_scenario

    settings = Settings(database_url=sql_database_url)
    ledger = build_ledger(settings)
    figures = load_2020_scenario(ledger)
    read_models = build_read_models(settings, ledger)
    try:
        read_models.catch_up()
        grants = [ledger.application(a) for a in figures["application_ids"].values()]

        totals = read_models.phase_totals(figures["phase_id"])
        reconciliation = read_models.reconciliation(figures["programme_id"], 2020)

        def total(attribute: str) -> str:
            return f"{sum((getattr(g, attribute).amount for g in grants), Decimal(0)):.2f}"

        assert totals["envelope"] == "16000000.00"
        assert totals["awarded"] == totals["committed"] == "16000000.00" == total("awarded")
        assert totals["available"] == "0.00"
        assert totals["requested"] == total("requested")
        assert totals["paid"] == figures["paid_total"] == total("paid")
        assert totals["repaid"] == figures["repaid_total"] == total("repaid")
        assert totals["net_paid"] == figures["net_paid_total"]
        assert totals["outstanding"] == total("outstanding")
        assert totals["counts"] == {"approved": 443}
        assert sum(Decimal(k["awarded"]) for k in totals["by_kind"].values()) == Decimal(
            "16000000.00")
        assert reconciliation["balanced"] is True
        assert reconciliation["appropriation"] == "20000000.00"
        assert reconciliation["funded_to_phases"] == "16000000.00"
        assert reconciliation["committed"] == "16000000.00"
        assert reconciliation["paid_against_year"] == figures["paid_total"]
        assert read_models.accounts(figures["programme_id"])["total"] == "0.00"
        assert read_models.verify().ok
    finally:
        read_models.close()
