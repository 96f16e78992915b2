"""Per-request context as pure ASGI middleware: request id, access log, body limit.

Pure ASGI (not BaseHTTPMiddleware) so the structlog context bound here is the
one the handlers run in, and so an oversized body is refused before any route
or JSON parser sees it.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, problem_body

MAX_BODY_BYTES = 2 * 1024 * 1024
_ids = random.Random()  # seeded from os.urandom, and again in a forked child:
os.register_at_fork(after_in_child=_ids.seed)  # workers never share a sequence
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = structlog.get_logger("api.access")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID if it is a sane token, else a fresh one."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _REQUEST_ID.match(text):
                return text
    # 128 random bits as hex, like uuid4().hex: an id to correlate log lines, not a
    # secret, so the process's PRNG (no system call per request on the event loop).
    return f"{_ids.getrandbits(128):032x}"


# The status logged and counted for a request the app ended without answering because the
# client went away first (a body cut short, a closed connection): nginx's "client closed
# request", not a 5xx, which would set off an alert for what no client received.
CLIENT_CLOSED = 499


class Unanswered:
    """One request's receive channel, watched: the status of a request the app ended
    without a response is 499 if the client had gone away, else 500 (uvicorn answers
    such a request 500)."""

    __slots__ = ("_receive", "gone")

    def __init__(self, receive: Receive) -> None:
        self._receive, self.gone = receive, False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
        return message

    def status(self) -> int:
        return CLIENT_CLOSED if self.gone else 500


class RequestContextMiddleware:
    """Binds request_id into every log line, echoes it, logs one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status: int | None = None  # until a response starts
        channel = Unanswered(receive)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, channel.receive, send_with_id)
        finally:
            access_log.info(
                "request_handled",
                method=scope["method"],
                path=scope["path"],
                status=status if status is not None else channel.status(),
                user=state.get("user"),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


class BodyLimitMiddleware:
    """Refuses bodies over MAX_BODY_BYTES with 413, by Content-Length or as streamed; and,
    holding the body anyway, a JSON body that names a key twice in one object with 422
    (the parser would keep the last silently: `{"reason": "x", "reason": "y"}`)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope["headers"])
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, f"the body declares {declared} bytes")
            return
        # Buffer the body (at most max_bytes, what the JSON parser would hold
        # anyway) so a streamed body that grows too large is refused up front.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, "the streamed body grew beyond the limit")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        twice = _key_twice(body) if _is_json(scope["headers"]) else None
        if twice is not None:
            await self._answer(send, status=422, code="validation", title="Invalid input",
                               detail=f"body: the key {twice!r} appears twice in one "
                               "object; name each field once")
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, why: str) -> None:
        await self._answer(
            send, status=413, code="payload_too_large", title="Payload too large",
            detail=f"bodies are limited to {self.max_bytes} bytes ({why}); "
            "use `ledger import` for bulk loads", close=True)  # the rest is left unread

    @staticmethod
    async def _answer(send: Send, *, status: int, code: str, title: str, detail: str,
                      close: bool = False) -> None:
        body = problem_body(status=status, code=code, title=title, detail=detail)
        headers = [(b"content-type", PROBLEM_JSON.encode()),
                   (b"content-length", str(len(body)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"content-type" and b"json" in value.lower()
               for name, value in headers)


def _key_twice(body: bytes) -> str | None:
    """The first key named twice in one object of a JSON body, or None (also for a body
    that is not JSON: the route's parser refuses it in its words)."""
    twice: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> None:
        keys = [key for key, _ in items]
        if not twice and len(set(keys)) < len(keys):
            twice.append(next(k for n, k in enumerate(keys) if k in keys[:n]))

    try:
        json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None
    return twice[0] if twice else None


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class HeadMiddleware:
    """HEAD is GET without the content (RFC 9110 §9.3.2; every general-purpose server
    supports both). FastAPI routes only the methods declared, so HEAD was 405 on every
    resource: the route sees GET here, and the answer goes out with GET's headers
    (Content-Length included) and no content. A streamed answer ends after its headers
    (uvicorn then tells the app the client is gone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False

        async def without_content(message: Message) -> None:
            nonlocal done
            if done:
                return
            if message["type"] == "http.response.body":
                done = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        routed = {**scope, "method": "GET"}
        try:
            await self.app(routed, receive, without_content)
        finally:
            if "route" in routed:  # the route matched, for the metrics outside
                scope["route"] = routed["route"]
