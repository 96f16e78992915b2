"""The OpenAPI document, with every refusal documented as a problem+json answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_REFUSALS = {
    "401": "No or unknown API key (`unauthorized`)",
    "403": "Wrong role (`forbidden`) or four eyes (`four_eyes`)",
    "404": "Unknown programme, phase, recipient, application or drawdown (`not_found`)",
    "409": "Refused by an invariant (`budget_exceeded`, `over_drawdown`, …)",
    "413": "Body over 2 MiB (`payload_too_large`)",
    "422": "Invalid input (`validation`) or reused Idempotency-Key (`idempotency_mismatch`)",
    "503": "Read models lagging (`projection_lagging`) or unavailable",
}
_BY_METHOD = {"post": ("401", "403", "404", "409", "413", "422"),
              "get": ("401", "403", "404", "422", "503")}


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
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if path == "/health":
                    continue  # its 503 is the Health document itself, not a problem
                responses = operation.setdefault("responses", {})
                codes = _BY_METHOD.get(method, ())
                for code in {*codes, *(c for c in responses if c >= "400")}:
                    responses[code] = {"description": _REFUSALS.get(code, "Refused"),
                                       "content": _PROBLEM}
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
