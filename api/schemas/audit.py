"""Integrity, health and who-am-I answers."""

from __future__ import annotations

from pydantic import ConfigDict

from api.schemas.common import Public


class Integrity(Public):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"position": 5000, "head_hash": "9f2c…", "verified": True, "checked": 5000,
         "broken_at": None, "problem": None}]})

    position: int
    head_hash: str
    verified: bool
    checked: int
    broken_at: int | None = None
    problem: str | None = None


class ProjectionHealth(Public):
    name: str
    position: int
    lag: int


class Health(Public):
    status: str
    database: str
    head: int
    projections: list[ProjectionHealth]


class WhoAmI(Public):
    user: str
    roles: list[str]
