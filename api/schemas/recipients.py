"""Recipients (local authorities) and their statements."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Discriminator, Field, StrictInt, Tag

from api.schemas.common import (
    AMOUNTS,
    DAY,
    MAYBE_TEXT,
    SHAPE_TAG,
    TEXT,
    Body,
    Identifier,
    Public,
    ShortText,
)
from api.schemas.programmes import Kind


class RecipientCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"recipient_id": "06411000", "name": "Darmstadt", "kind": "kreisfreie_stadt",
         "population": 159878}]})

    recipient_id: Identifier
    name: ShortText
    kind: Kind
    population: Annotated[StrictInt, Field(ge=0, le=10**9)] | None = None
    district_id: Identifier | None = None


class RecipientsCreate(Body):
    """Many recipients at once, all or nothing."""

    recipients: Annotated[list[RecipientCreate], Field(min_length=1, max_length=5000)]


def _shape(body: Any) -> str:
    """A body with `recipients` is many, any other one: its errors are that shape's alone
    (a union would list both shapes' complaints, the other shape's first)."""
    return MANY if isinstance(body, dict) and "recipients" in body else ONE


# pydantic names the tag in an error's location (body.<tag>.recipient_id); the errors
# leave out what starts with SHAPE_TAG (api/errors.py), so the client reads its own fields
ONE, MANY = f"{SHAPE_TAG}one", f"{SHAPE_TAG}many"
RecipientsBody = Annotated[Annotated[RecipientCreate, Tag(ONE)]
                           | Annotated[RecipientsCreate, Tag(MANY)], Discriminator(_shape)]


class RecipientPublic(Public):
    also: ClassVar[dict[str, dict[str, Any]]] = {"registered_on": DAY}
    recipient_id: str
    name: str
    kind: str
    population: int | None = None
    district_id: str | None = None
    position: int


class RecipientsCreated(Public):
    recipients: list[RecipientPublic]
    count: int
    position: int


class StatementPublic(Public):
    also: ClassVar[dict[str, dict[str, Any]]] = {
        "name": TEXT, "kind": TEXT, "population": {"type": ["integer", "null"]},
        "district_id": MAYBE_TEXT, "registered_on": DAY,
        "totals": {**AMOUNTS, "description": "requested (not withdrawn), awarded, paid, "
                   "repaid, net_paid, balance over the applications"},
        "effective_on": {**DAY, "description": "with `effective_on`: the business date"},
    }
    recipient_id: str | None = None
    applications: list[dict[str, Any]] = Field(default_factory=list)
    position: int
