"""Integrity and health answers."""

from __future__ import annotations

from pydantic import ConfigDict

from api.schemas.common import Public

DIGEST_PATTERN = r"^[0-9]{1,18}:[0-9a-fA-F]{64}$"


class DigestCheck(Public):
    position: int
    hash: str
    verified: bool
    problem: str | None = None


class Integrity(Public):
    """The log's head, and how far the chain is verified (the checkpoint): `verified` is
    false once the checkpoint found a broken link, or when a digest asked about fails."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"position": 5000, "head_position": 5000, "head_hash": "9f2c…", "verified": True,
         "verified_position": 5000, "verified_hash": "9f2c…",
         "verified_at": "2026-11-25T10:00:00.000000Z", "checked": 5000,
         "broken_at": None, "problem": None, "digest": None}]})

    position: int
    head_position: int
    head_hash: str
    verified: bool
    verified_position: int
    verified_hash: str
    verified_at: str | None
    checked: int
    broken_at: int | None = None
    problem: str | None = None
    digest: DigestCheck | None = None


class ProjectionHealth(Public):
    name: str
    position: int
    lag: int


class Health(Public):
    status: str
    database: str
    head: int
    projections: list[ProjectionHealth]
