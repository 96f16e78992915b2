"""Types every body shares: money as strings, ISO dates, bounded clean text."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from ledger import Money
from ledger.money import explain_amount

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SHAPE_TAG = "shape:"  # a tagged union's tag: no field of the body (api/errors.py)
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


_GERMAN_DATE = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$")


def _iso_date_text(value: Any) -> Any:
    """Dates are ISO strings in JSON (YYYY-MM-DD), never numbers (which pydantic would
    read as epochs) nor timestamps (which pydantic would cut to a date)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    german = _GERMAN_DATE.match(value) if isinstance(value, str) else None
    if german:
        day, month, year = german.groups()
        return_ = f"{year}-{int(month):02d}-{int(day):02d}"
        raise ValueError(f'"{value}" is not an ISO date: use {return_} (YYYY-MM-DD)')
    shown = repr(value) if not isinstance(value, str) else f'"{value[:40]}"'
    raise ValueError(f"{shown} is not an ISO date: use a date such as 2020-07-01 "
                     "(YYYY-MM-DD, no time part)")


# The canonical forms the OpenAPI document states (no lookaround, so schema-driven
# generators such as schemathesis can use them); the server also reads leading zeros.
POSITIVE_MONEY_PATTERN = (
    r"^(?:[1-9][0-9]{0,12}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))$")
NON_NEGATIVE_MONEY_PATTERN = r"^(?:[1-9][0-9]{0,12}|0)(?:\.[0-9]{1,2})?$"
_NON_NEGATIVE = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")


def _amount(value: Any, *, positive: bool) -> Money:
    """Money from JSON: a string of EUR with at most two decimals, never a number."""
    if isinstance(value, Money):
        return value
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not an amount: send a string such as "40000.00"')
    if not _NON_NEGATIVE.match(value):
        if value.startswith("-") and _NON_NEGATIVE.match(value[1:]):
            raise ValueError(f'"{value}" is not an amount: amounts are never negative')
        raise ValueError(explain_amount(value))
    money = Money.parse(value)
    if positive and money.amount <= 0:
        raise ValueError(f'"{value}" is not an amount here: it must be at least 0.01')
    return money


def _money_type(*, positive: bool) -> Any:
    pattern = POSITIVE_MONEY_PATTERN if positive else NON_NEGATIVE_MONEY_PATTERN
    return Annotated[
        Money,
        PlainValidator(lambda value: _amount(value, positive=positive)),
        PlainSerializer(str, return_type=str),  # model_dump() keeps it a string
        WithJsonSchema({
            "type": "string", "pattern": pattern, "maxLength": 16,
            "description": "EUR as a string with a point and at most two decimals"
                           + (", at least 0.01" if positive else ", 0.00 or more"),
            "examples": ["16000000.00"]}),
    ]


# Amounts of a request body, validated straight into Money (the commands' type).
Amount = _money_type(positive=True)
NonNegativeAmount = _money_type(positive=False)


Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
IsoDate = Annotated[date, BeforeValidator(_iso_date_text), Field(examples=["2020-07-01"])]
# The window of I13 depends on the Ledger's settings and on today: the ledger checks it.


# What _clean_text lets through, stated in the OpenAPI document (no C0 control character
# but tab, line feed and carriage return; no DEL). The validator, not the pattern, refuses,
# so the refusal says "control characters" rather than quoting a regular expression.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_DOCUMENTED_TEXT = Field(json_schema_extra={"pattern": TEXT_PATTERN})

ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_clean_text),
    _DOCUMENTED_TEXT,
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_clean_text),
    _DOCUMENTED_TEXT,
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(_clean_text),
    Field(examples=["corrected after review"], json_schema_extra={"pattern": TEXT_PATTERN}),
]


class Body(BaseModel):
    """A request body: unknown fields are refused so a misspelt field never passes."""

    model_config = ConfigDict(extra="forbid")


AMOUNT: dict[str, Any] = {"type": "string", "pattern": r"^-?\d+\.\d{2}$",
                          "examples": ["16000000.00"]}
DAY: dict[str, Any] = {"type": "string", "format": "date"}
MAYBE_DAY: dict[str, Any] = {"anyOf": [DAY, {"type": "null"}]}
TEXT: dict[str, Any] = {"type": "string"}
MAYBE_TEXT: dict[str, Any] = {"anyOf": [TEXT, {"type": "null"}]}
AMOUNTS: dict[str, Any] = {"type": "object", "additionalProperties": AMOUNT}


class Public(BaseModel):
    """A response body: read models may add fields, which pass through.

    `also`: more properties the answer carries, for the OpenAPI document only (JSON
    schemas by name). They are documented, not declared: an answer is serialised as
    the read models wrote it, so documenting a field can never change or fail one."""

    model_config = ConfigDict(extra="allow")
    also: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        properties = schema.setdefault("properties", {})
        for name, extra in cls.also.items():
            properties.setdefault(name, {"title": name.replace("_", " ").capitalize(),
                                         **extra})
        return schema


C = TypeVar("C")


def command(command_type: type[C], body: BaseModel, **path: Any) -> C:
    """The command a request means: every field of its body plus the ids of its path.

    Body fields are passed by name, so a body field the command lacks fails every
    request of that route (tests/api/test_command_bodies.py checks each one)."""
    fields = {name: _plain(getattr(body, name)) for name in type(body).model_fields}
    return command_type(**fields, **path)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Page(Public):
    """A page of a list: follow `next_cursor` until it is null."""
    also: ClassVar[dict[str, dict[str, Any]]] = {
        "total": {**AMOUNT, "description": "drill-down: the figure all pages' entries sum to"},
        "effective_on": {**DAY, "description": "with `effective_on`: the business date"},
    }

    items: list[dict[str, Any]]
    next_cursor: str | None = None
    position: int
