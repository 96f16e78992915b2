"""Checks of primitive input shared by the commands (I1), before anything is loaded."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ledger.domain.base import required_reason
from ledger.errors import ValidationFailed
from ledger.money import Money
from ledger.vocabulary import MeasureCategory, RecipientKind

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

__all__ = ["day", "fiscal_year", "identifier", "kind", "measure", "positive", "required_reason",
           "text"]


def identifier(value: str, *, field: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ValidationFailed(
            f"{field}: 1–64 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit; got {value!r}"
        )
    return value


def text(value: str | None, *, field: str, required: bool = True, limit: int = 500) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"{field}: required")
    if len(value) > limit:
        raise ValidationFailed(f"{field}: at most {limit} characters")
    return value


def positive(value: object, *, field: str) -> Money:
    return Money.positive(value, field=field)


def day(value: object, *, field: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationFailed(f"{field}: an ISO date such as 2020-07-01, got {value!r}")


def fiscal_year(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1990 <= value <= 2200:
        raise ValidationFailed(f"fiscal_year: a year between 1990 and 2200, got {value!r}")
    return value


def measure(item: dict[str, Any], *, where: str) -> dict[str, Any]:
    """One measure of an application: a category, a description and a positive amount."""
    extra = set(item) - {"category", "description", "amount"}
    if extra:
        raise ValidationFailed(f"{where}: unknown field {sorted(extra)[0]!r}")
    try:
        category = MeasureCategory(str(item.get("category")))
    except ValueError:
        raise ValidationFailed(
            f"{where}.category: one of {', '.join(MeasureCategory)}") from None
    return {
        "category": category,
        "description": text(item.get("description"), field=f"{where}.description", limit=1000),
        "amount": positive(item.get("amount"), field=f"{where}.amount"),
    }


def kind(value: object, *, field: str) -> RecipientKind:
    try:
        return RecipientKind(str(value))
    except ValueError:
        raise ValidationFailed(f"{field}: one of {', '.join(RecipientKind)}") from None
