"""The Starke Heimat Hessen 2020 scenario loads whole, exact to the cent, and only once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import Ledger, Settings, build_ledger
from ledger.errors import AlreadyExists
from scripts.demo_data import load_2020_scenario


@pytest.fixture(scope="module")
def loaded() -> tuple[Ledger, dict]:
    ledger = build_ledger(Settings(database_url="memory://"))
    return ledger, load_2020_scenario(ledger)


def test_awards_all_443_authorities_exactly_the_envelope(loaded: tuple[Ledger, dict]) -> None:
    ledger, figures = loaded

    grants = [ledger.application(a) for a in figures["application_ids"].values()]

    assert figures["awarded_total"] == "16000000.00"
    assert sum(g.awarded.amount for g in grants) == Decimal("16000000.00")
    assert len(grants) == figures["approved"] == 443
    assert all(g.status == "approved" for g in grants)
    assert ledger.phase("2020-1").available.amount == Decimal("0.00")


def test_keeps_the_published_main_kinzig_awards(loaded: tuple[Ledger, dict]) -> None:
    ledger, figures = loaded
    published = {"06435006": "54912.00", "06435017": "10908.00", "06435013": "8948.00",
                 "06435020": "9939.00", "06435024": "7500.00"}

    awarded = {rid: str(ledger.application(figures["application_ids"][rid]).awarded)
               for rid in published}

    assert awarded == published
    assert awarded["06435006"] == "54912.00"  # Bruchköbel


def test_reported_money_matches_the_aggregates(loaded: tuple[Ledger, dict]) -> None:
    ledger, figures = loaded

    grants = [ledger.application(a) for a in figures["application_ids"].values()]
    paid = sum(g.paid.amount for g in grants)
    repaid = sum(g.repaid.amount for g in grants)

    assert str(paid) == figures["paid_total"]
    assert str(repaid) == figures["repaid_total"]
    assert Decimal("0.99") < paid / Decimal("16000000.00") < Decimal("1")
    assert sum(1 for g in grants if g.paid < g.awarded) == figures["partially_drawn"] > 0
    assert figures["last_position"] == ledger.head()[0] == figures["events_written"]


def test_refuses_to_load_twice_and_writes_nothing(loaded: tuple[Ledger, dict]) -> None:
    ledger, _ = loaded
    before = ledger.head()[0]

    with pytest.raises(AlreadyExists):
        load_2020_scenario(ledger)

    assert ledger.head()[0] == before
