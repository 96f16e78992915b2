"""Checks of primitive input shared by the commands (I1), before anything is loaded."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ledger.domain.application import MEASURE_CATEGORIES
from ledger.domain.base import required_reason
from ledger.errors import ValidationFailed
from ledger.money import Money

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

__all__ = ["day", "fiscal_year", "identifier", "measures", "positive", "required_reason", "text"]


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


def measures(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    result = []
    for n, item in enumerate(items or []):
        category = item.get("category")
        if category not in MEASURE_CATEGORIES:
            raise ValidationFailed(
                f"measures[{n}].category: one of {', '.join(MEASURE_CATEGORIES)}"
            )
        result.append(
            {
                "category": category,
                "description": text(
                    item.get("description"), field=f"measures[{n}].description", limit=1000
                ),
                "amount": positive(item.get("amount"), field=f"measures[{n}].amount"),
            }
        )
    return result
