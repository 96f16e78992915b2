"""Recipients (local authorities) and their statements."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt

from api.schemas.common import Body, Identifier, Public, ShortText
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


class RecipientPublic(Public):
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
    recipient_id: str | None = None
    applications: list[dict[str, Any]] = Field(default_factory=list)
    position: int
