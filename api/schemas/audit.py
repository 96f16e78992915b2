"""Integrity, health and who-am-I answers."""

from __future__ import annotations

from typing import Literal

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
    false once the checkpoint found a broken link, when a digest asked about fails, or when
    a snapshot was found altered; `problem` says which."""

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


class RebuildProgress(Public):
    tag: str
    position: int
    lag: int


class ProjectionHealth(Public):
    name: str
    position: int
    lag: int
    status: Literal["ok", "lagging", "failing", "outdated"]
    error: str | None = None
    failing_since: str | None = None
    fix: str | None = None  # outdated: the command that brings the tables to this release
    # a rebuild under way (PostgreSQL): its new version's tag, position and lag behind the
    # head; answers come from the live version (`position`) until it switches
    rebuilding: RebuildProgress | None = None


class Health(Public):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"status": "degraded", "database": "ok", "head": 5000, "max_lag": 10000,
         "runner": "follower", "pid": 4242, "projections": [
             {"name": "audit", "position": 5000, "lag": 0, "status": "ok", "error": None,
              "failing_since": None},
             {"name": "grants", "position": 4870, "lag": 130, "status": "failing",
              "error": "ValueError: …", "failing_since": "2026-11-26T04:00:00+00:00"}]}]})

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    head: int
    max_lag: int
    runner: Literal["leader", "follower", "off"]
    pid: int
    projections: list[ProjectionHealth]


class WhoAmI(Public):
    user: str
    roles: list[str]
