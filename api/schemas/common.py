"""Types every body shares: money as strings, ISO dates, bounded clean text."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from ledger import Money

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MONEY_PATTERN = r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$"
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# Free text in a path or query (filters): no C0 control character and no DEL.
# PostgreSQL refuses NUL in text, and none of them belongs in an id or a name.
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def _clean_text(value: str) -> str:
    """Refuses text a database or a UTF-8 encoder would choke on."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    if any((ord(c) < 32 and c not in "\n\r\t") or c == "\x7f" for c in value):
        raise ValueError("text must not contain control characters")
    return value


def _iso_date_text(value: Any) -> Any:
    """Dates are ISO strings in JSON (YYYY-MM-DD), never numbers (which pydantic would
    read as epochs) nor timestamps (which pydantic would cut to a date)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("an ISO date such as 2020-07-01 (no time part)")


MoneyStr = Annotated[
    str,
    StringConstraints(pattern=MONEY_PATTERN),
    Field(description="EUR amount as a string with at most two decimals",
          examples=["16000000.00"]),
]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
IsoDate = Annotated[date, BeforeValidator(_iso_date_text), Field(examples=["2020-07-01"])]
# The window of I13 depends on the Ledger's settings and on today: the ledger checks it.


ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_clean_text)
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_clean_text)
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(_clean_text),
    Field(examples=["corrected after review"]),
]


class Body(BaseModel):
    """A request body: unknown fields are refused so a misspelt field never passes."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """A response body: read models may add fields, which pass through."""

    model_config = ConfigDict(extra="allow")


def money(value: str | None, *, field: str) -> Money | None:
    """Turns a validated money string into Money (ValidationFailed → 422 problem)."""
    return None if value is None else Money.parse(value, field=field)


def required_money(value: str, *, field: str) -> Money:
    return Money.parse(value, field=field)


class Page(Public):
    """A page of a list: follow `next_cursor` until it is null."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None
    position: int
