"""Authentication before anything else (SPEC §4): 401 before a body is read.

FastAPI reads and parses a request's JSON body before it resolves the route's
dependencies, so a key checked in a dependency comes too late: a broken body from
an anonymous caller would answer 422. This pure ASGI middleware runs before the
body limit and the router: it takes exactly one `Authorization` header, looks the
key up and leaves the caller (or why there is none) in the request state, where
`api.deps.current_user` reads it. A request that may carry a body (anything but
GET, HEAD, OPTIONS) without a valid key is refused here; reads without a key reach
their route, which refuses them unless it is public (/health, /docs, /openapi.json).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import ApiKeys, Principal
from api.errors import PROBLEM_JSON, problem_body

NO_BODY_METHODS = ("GET", "HEAD", "OPTIONS")
NO_KEY = "send an API key as `Authorization: Bearer <key>`"
# The dashboard's sign-in form carries the key in its (small, form) body, and signing
# out needs none (api/ui/session.py); the body limit still applies to both.
KEYLESS_POSTS = frozenset({"/ui/login", "/ui/logout"})


def authenticate(keys: ApiKeys | None, header: bytes | None) -> tuple[Principal | None, str]:
    """The caller of a bearer key in an `Authorization` header, or None and why not."""
    if header is None:
        return None, NO_KEY
    scheme, _, key = header.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None, NO_KEY
    principal = keys.authenticate(key.strip()) if keys is not None else None
    return principal, "" if principal is not None else "unknown API key"


class AuthenticationMiddleware:
    """Authenticates every HTTP request; refuses a would-be body without a valid key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [v for name, v in scope["headers"] if name.lower() == b"authorization"]
        if len(headers) > 1:
            # Proxies and frameworks disagree on which of two wins: trust neither.
            await _refuse(send, "send exactly one Authorization header")
            return
        keys = getattr(scope["app"].state, "api_keys", None) if "app" in scope else None
        principal, why = authenticate(keys, headers[0] if headers else None)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["principal"], state["unauthenticated"] = principal, why
        if principal is not None:
            state["user"] = principal.user
        elif scope["method"] not in NO_BODY_METHODS and scope["path"] not in KEYLESS_POSTS:
            await _refuse(send, why)
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, why: str) -> None:
    body = problem_body(status=401, code="unauthorized", title="Unauthorized", detail=why)
    await send({
        "type": "http.response.start",
        "status": 401,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b"Bearer"),
        ],
    })
    await send({"type": "http.response.body", "body": body})
