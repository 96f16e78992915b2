"""Integrity, health and who-am-I answers."""

from __future__ import annotations

from typing import Literal

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
    status: Literal["ok", "lagging", "failing"]
    error: str | None = None
    failing_since: str | None = None


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
