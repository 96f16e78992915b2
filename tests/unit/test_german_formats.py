"""German formats of the report documents: amounts, dates, labels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from scripts.exports import german


@pytest.mark.parametrize(("amount", "text"), [
    ("15919306.33", "15.919.306,33\u00a0€"), ("0.00", "0,00\u00a0€"), ("999.5", "999,50\u00a0€"),
    ("1000", "1.000,00\u00a0€"), ("-4722.21", "−4.722,21\u00a0€"),
    (Decimal("1234567.89"), "1.234.567,89\u00a0€"),
])
def test_amounts_read_as_in_a_german_letter(amount: str | Decimal, text: str) -> None:
    assert german.euro(amount) == text


def test_dates_and_moments() -> None:
    assert german.day("2020-12-31") == "31.12.2020"
    assert german.day(date(2020, 1, 1)) == "01.01.2020"
    assert german.day(None) == ""
    assert german.moment("2021-01-15T17:04:05.123456+00:00") == "15.01.2021, 17:04 UTC"
    assert german.moment(datetime(2021, 1, 15, 18, 4, tzinfo=UTC)) == "15.01.2021, 18:04 UTC"


def test_labels_in_german_and_unknown_names_readable() -> None:
    assert german.label("paid_against_year") == "Ausgezahlt zulasten des Jahres"
    assert german.label("kreisfreie_stadt", german.KINDS) == "Kreisfreie Stadt"
    assert german.label("new_kind", german.KINDS) == "New kind"
    assert german.number(12345) == "12.345"


def test_every_measure_category_has_one_german_name_in_reports_and_dashboard() -> None:
    from api.ui.labels import LABELS
    from ledger.vocabulary import MeasureCategory
    from scripts.exports import german

    names = {str(c): german.label(str(c), german.CATEGORIES) for c in MeasureCategory}

    # four of ten fell back to their English code ("Specialist applications")
    assert all(name != str(c).replace("_", " ").capitalize() for c, name in names.items())
    assert names == {c: LABELS[c][0] for c in names}
