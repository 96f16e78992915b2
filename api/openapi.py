"""The OpenAPI document: every operation with a summary, a description naming the roles
it needs (read from its `requires(...)`/`acting_as(...)` dependency, api/routes.py) and
the problem+json answers it can give, each with an example."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.routes import RouteFacts, operations

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable (SPEC §4).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["over_drawdown"]},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
ALL_ROLES = ("admin", "clerk", "approver", "finance", "auditor")
# status: (description, the code of the example, its detail)
_REFUSALS: dict[str, tuple[str, str, str]] = {
    "401": ("No or unknown API key (`unauthorized`)", "unauthorized", "unknown API key"),
    "403": ("The key lacks the role (`forbidden`)", "forbidden",
            "this needs one of the roles: finance, auditor"),
    "404": ("Unknown programme, phase, recipient, application or drawdown (`not_found`)",
            "not_found", "unknown phase 2020-9"),
    "409": ("Refused by an invariant (`budget_exceeded`, `over_drawdown`, `invalid_state`, "
            "`duplicate_application`, `fiscal_year_closed`, …)", "over_drawdown",
            "requested and paid drawdowns would exceed the award"),
    "413": ("Body over 2 MiB (`payload_too_large`)", "payload_too_large",
            "the body is over 2097152 bytes"),
    "422": ("Invalid input, an unknown field or query parameter (`validation`), or a reused "
            "Idempotency-Key (`idempotency_mismatch`)", "validation",
            "unknown query parameter(s): bogus"),
    "429": ("Too many expensive requests with this key (`rate_limited`: /integrity, /events, "
            "CSV, pages over 100 rows); retry after `Retry-After` seconds", "rate_limited",
            "more than 10 per 1 second expensive requests with this key; retry in 1 s"),
    "503": ("Read models lagging (`projection_lagging`) or unavailable", "projection_lagging",
            "the read models have not reached position 42 within 5 s"),
}
_FOUR_EYES = " or four eyes (`four_eyes`: not the user who recorded or requested it)"
# Commands that name no existing resource: they cannot answer 404.
_NAME_NOTHING = frozenset({("POST", "/programmes"), ("POST", "/recipients")})


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for route, known in operations(app.routes):
            for method in route.methods:
                _document(document["paths"][route.path_format][method.lower()],
                          route, method, known)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _document(operation: dict[str, Any], route: Any, method: str, known: RouteFacts) -> None:
    summary = route.summary or route.name.replace("_", " ").capitalize()
    operation["summary"] = summary
    operation["description"] = "\n\n".join(
        (route.description or f"{summary}.", *_habits(method, known),
         f"**Roles:** {roles_line(known)}"))
    responses = operation.setdefault("responses", {})
    for status in refusals(route, method, known):
        if route.path_format == "/health" and status == "503":
            continue  # its 503 is the Health document itself, not a problem
        description, code, detail = _REFUSALS[status]
        if status == "403" and method == "POST":
            description += _FOUR_EYES
        example = {"type": f"/problems/{code}", "title": code.replace("_", " ").capitalize(),
                   "status": int(status), "detail": detail, "code": code}
        responses[status] = {"description": description, "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"},
                                         "example": example}}}


def _habits(method: str, known: RouteFacts) -> tuple[str, ...]:
    if method == "POST":
        return ("A command: repeat it safely with an `Idempotency-Key`; answers the new "
                "state and the `position` of the last event written.",)
    if known.reads_projections:
        return ("Answers from the read models with the `position` it reflects; `as_of`, "
                "`as_of_position` and `min_position` choose the moment.",)
    return ()


def roles_line(known: RouteFacts) -> str:
    """The roles an operation lets through, as its description says them."""
    if set(known.roles) >= set(ALL_ROLES):
        return f"any role ({', '.join(ALL_ROLES)})"
    if known.roles:
        return ", ".join(known.roles)
    if known.needs_key:
        return "any valid API key, whatever its roles"
    return "none, no API key needed"


def refusals(route: Any, method: str, known: RouteFacts) -> list[str]:
    """The error statuses an operation can answer (problem+json)."""
    statuses = {"422"}
    statuses.update(s for s in map(str, route.responses) if s >= "400" and s in _REFUSALS)
    if known.needs_key:
        statuses.add("401")
    if known.roles:
        statuses.add("403")
    if "{" in route.path_format or (method == "POST"
                                    and (method, route.path_format) not in _NAME_NOTHING):
        statuses.add("404")
    if method == "POST":
        statuses.update({"409", "413"})
    if known.reads_projections:
        statuses.add("503")
    if method == "GET" and known.needs_key:
        statuses.add("429")  # api/ratelimit.py: counted by what is asked, not by route
    return sorted(statuses)
