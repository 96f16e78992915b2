"""What a refused amount is told: the reason, and the form to use where there is one."""

from __future__ import annotations

import pytest

from ledger.money import explain_amount


@pytest.mark.parametrize(("text", "told"), [
    ("0.001", "at most two decimals (cents)"),  # not "for 1 EUR use 1.00"
    ("10.555", "for 10,555 EUR use 10555.00"),  # a German thousands separator, likely
    ("1.234,56", "use 1234.56"),
    ("99999999999999.99", "at most 13 digits before the point (9999999999999.99)"),
    ("1e5", "use 100000.00 (no exponent)"),
    ("zehn", "use EUR with a point and two decimals"),
])
def test_a_refused_amount_is_told_why(text: str, told: str) -> None:
    message = explain_amount(text)

    assert message.startswith(f'"{text}" is not an amount: ')
    assert told in message
