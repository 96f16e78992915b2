"""Money and postings: EUR amounts with exactly two decimals, never float."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from ledger.errors import ValidationFailed

CENT: Final = Decimal("0.01")
# 10^13 EUR is far beyond any public budget; it keeps NUMERIC(18,2) safe.
MAX_AMOUNT: Final = Decimal("9999999999999.99")


@dataclass(frozen=True, order=True)
class Money:
    """An amount of EUR held as a Decimal with exactly two places."""

    amount: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValidationFailed(f"not a finite decimal amount: {self.amount!r}")
        if abs(self.amount) > MAX_AMOUNT:
            raise ValidationFailed(f"amount {self.amount} is too large")
        quantized = self.amount.quantize(CENT)
        if quantized != self.amount:
            raise ValidationFailed(f"amount {self.amount} has more than two decimals")
        object.__setattr__(self, "amount", quantized)

    @classmethod
    def zero(cls) -> Money:
        return cls(Decimal("0.00"))

    @classmethod
    def parse(cls, value: object, *, field: str = "amount") -> Money:
        """Parse user input: a string or Decimal (or int) of EUR, never a float.

        Raises ValidationFailed for floats, malformed text, more than two
        decimals, non-finite or oversized values.
        """
        if isinstance(value, Money):
            return value
        if isinstance(value, (bool, float)):
            raise ValidationFailed(f"{field}: money must be a string such as '150.00'")
        if isinstance(value, int):
            value = Decimal(value)
        if isinstance(value, str):
            text = value.strip()
            if not text or len(text) > 32:
                raise ValidationFailed(f"{field}: not an amount: {value!r}")
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise ValidationFailed(f"{field}: not an amount: {value!r}") from None
        if not isinstance(value, Decimal):
            raise ValidationFailed(f"{field}: not an amount: {value!r}")
        try:
            return cls(value)
        except ValidationFailed as exc:
            raise ValidationFailed(f"{field}: {exc.detail}") from None

    @classmethod
    def positive(cls, value: object, *, field: str = "amount") -> Money:
        """Parse an amount that must be greater than zero (invariant I1)."""
        money = cls.parse(value, field=field)
        if money.amount <= 0:
            raise ValidationFailed(f"{field}: must be greater than 0.00, got {money}")
        return money

    @classmethod
    def not_negative(cls, value: object, *, field: str = "amount") -> Money:
        """Parse an amount that may be zero but not below (a carry-over, a budget cut to
        nothing)."""
        money = cls.parse(value, field=field)
        if money.amount < 0:
            raise ValidationFailed(f"{field}: must not be negative, got {money}")
        return money

    def __copy__(self) -> Money:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Money:
        # Immutable: aggregates are deep-copied out of the repository cache on
        # every command, and copying amounts would be pure waste.
        return self

    @property
    def cents(self) -> int:
        return int(self.amount * 100)

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - other.amount)

    def __neg__(self) -> Money:
        return Money(-self.amount)

    def __bool__(self) -> bool:
        return self.amount != 0

    def __str__(self) -> str:
        return f"{self.amount:.2f}"


def total(amounts: Iterable[Money]) -> Money:
    result = Money.zero()
    for amount in amounts:
        result = result + amount
    return result


@dataclass(frozen=True)
class Posting:
    """One balanced entry: `amount` moves from `source` to `target`.

    The source account's balance goes down by the amount, the target's up, so
    every posting sums to zero and so does the trial balance of all postings.
    """

    source: str
    target: str
    amount: Money


class Account:
    """Account names of SPEC §3."""

    @staticmethod
    def appropriation(year: int) -> str:
        return f"appropriation:{year}"

    @staticmethod
    def unallocated(year: int) -> str:
        return f"unallocated:{year}"

    @staticmethod
    def phase(phase_id: str) -> str:
        return f"phase:{phase_id}"

    @staticmethod
    def outstanding(application_id: str) -> str:
        return f"outstanding:{application_id}"

    @staticmethod
    def paid(application_id: str) -> str:
        return f"paid:{application_id}"

    @staticmethod
    def direct(year: int) -> str:
        return f"direct:{year}"

    @staticmethod
    def repaid(year: int) -> str:
        return f"repaid:{year}"

    @staticmethod
    def lapsed(year: int) -> str:
        return f"lapsed:{year}"


NON_NEGATIVE_PREFIXES: Final = ("unallocated:", "phase:", "outstanding:", "paid:")


def must_stay_non_negative(account: str) -> bool:
    return account.startswith(NON_NEGATIVE_PREFIXES)


# Thousands groups start with a digit other than 0 ("0.001" is a tenth of a cent, not 1)
_GERMAN = re.compile(r"^-?[1-9][0-9]{0,2}(\.[0-9]{3})+(,[0-9]{1,2})?$|^-?[0-9]+,[0-9]{1,2}$")
_TOO_LARGE = re.compile(r"^-?[0-9]{14,}(\.[0-9]{1,2})?$")
_SCIENTIFIC = re.compile(r"^-?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$")
_TOO_PRECISE = re.compile(r"^-?[0-9]+\.[0-9]{3,}$")


def explain_amount(text: str) -> str:
    """Why `text` is not an amount, naming it and showing the form to use."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    if _GERMAN.match(text) and _TOO_PRECISE.match(text):  # "10.555": cents or thousands?
        fixed = Decimal(text.replace(".", ""))
        return (f'"{shown}" is not an amount: at most two decimals (cents); for '
                f'{fixed:,.0f} EUR use {fixed:.2f} (no thousands separators)')
    if _GERMAN.match(text):
        fixed = Decimal(text.replace(".", "").replace(",", "."))
        return f'"{shown}" is not an amount: use {fixed:.2f} (a point for cents, no separators)'
    if _SCIENTIFIC.match(text):
        value = Decimal(text)  # the pattern is a valid Decimal
        if value.is_finite() and abs(value) < Decimal(10) ** 13:
            return f'"{shown}" is not an amount: use {value:.2f} (no exponent)'
    if _TOO_PRECISE.match(text):
        return f'"{shown}" is not an amount: at most two decimals (cents), e.g. 10.55'
    if _TOO_LARGE.match(text):
        return f'"{shown}" is not an amount: at most 13 digits before the point ({MAX_AMOUNT})'
    return f'"{shown}" is not an amount: use EUR with a point and two decimals, e.g. 40000.00'
