"""A command field's check and normal form, declared on the field (I1).

A field annotated `Annotated[T, rule]` is checked and normalised by `Command.__post_init__`
in field order, with the field's own name in the message (`amount: must be positive`).
Optional fields (`= None`) are checked only when given. What spans several fields stays in
the command's `check()`.

    amount: PositiveMoney
    decided_on: Day
    reason: Annotated[str, Reason("amend an award")]
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields
from datetime import date
from typing import Annotated, Any

from ledger.commands import validate
from ledger.money import Money


class Rule:
    """Checks one field's value; returns its normal form (raises ValidationFailed)."""

    def __call__(self, value: Any, field: str) -> Any:
        raise NotImplementedError


class _Positive(Rule):
    def __call__(self, value: Any, field: str) -> Money:
        return validate.positive(value, field=field)


class _NotNegative(Rule):
    def __call__(self, value: Any, field: str) -> Money:
        return Money.not_negative(value, field=field)


class _Day(Rule):
    def __call__(self, value: Any, field: str) -> date:
        return validate.day(value, field=field)


class _Identifier(Rule):
    def __call__(self, value: Any, field: str) -> str:
        return validate.identifier(value, field=field)


class _FiscalYear(Rule):
    def __call__(self, value: Any, field: str) -> int:
        return validate.fiscal_year(value)


@dataclass(frozen=True)
class Text(Rule):
    """Trimmed text of at most `limit` characters; an optional one is None when blank."""

    limit: int
    required: bool = True

    def __call__(self, value: Any, field: str) -> str | None:
        text = validate.text(value, field=field, required=self.required, limit=self.limit)
        return text if self.required else text or None


@dataclass(frozen=True)
class Reason(Rule):
    """The reason a correction must give; `what` names the act in the message."""

    what: str

    def __call__(self, value: Any, field: str) -> str:
        return validate.required_reason(value, what=self.what)


PositiveMoney = Annotated[Money, _Positive()]
NotNegativeMoney = Annotated[Money, _NotNegative()]
Day = Annotated[date, _Day()]
Identifier = Annotated[str, _Identifier()]
FiscalYear = Annotated[int, _FiscalYear()]
Name = Annotated[str, Text(200)]
Reference = Annotated[str | None, Text(200, required=False)]


_RULES: dict[type, tuple[tuple[str, Rule], ...]] = {}


def rules_of(cls: type) -> tuple[tuple[str, Rule], ...]:
    """(field, rule) of a command class, in field order; resolved once per class."""
    found = _RULES.get(cls)
    if found is None:
        found = _RULES[cls] = _resolve(cls)
    return found


def _resolve(cls: type) -> tuple[tuple[str, Rule], ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    found = []
    for f in fields(cls):
        hint = hints.get(f.name)
        # `Day | None` is a union whose member carries the rule.
        for member in (hint, *typing.get_args(hint)):
            rules = [m for m in getattr(member, "__metadata__", ()) if isinstance(m, Rule)]
            if rules:
                found.append((f.name, rules[0]))
                break
    return tuple(found)
