"""The status of a request the app ends without a response: 499 when the client went
away first (it abandoned the request), 500 otherwise (uvicorn answers it 500)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from api import middleware
from api.middleware import RequestContextMiddleware


async def _reads_then_returns(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # the body, or the client's disconnect


async def _returns(scope: Scope, receive: Receive, send: Send) -> None:
    return None


class _AccessLog:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


def _logged_status(app: object, messages: list[Message], monkeypatch: pytest.MonkeyPatch
                   ) -> int:
    log = _AccessLog()
    monkeypatch.setattr(middleware, "access_log", log)
    scope: Scope = {"type": "http", "method": "POST", "path": "/applications",
                    "headers": [], "query_string": b""}

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        raise AssertionError("no response is sent")

    asyncio.run(RequestContextMiddleware(app)(scope, receive, send))  # type: ignore[arg-type]
    (line,) = [entry for entry in log.lines if entry["event"] == "request_handled"]
    return int(line["status"])


def test_a_client_gone_before_the_answer_is_499_and_a_silent_app_500(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gone = [{"type": "http.disconnect"}]
    body = [{"type": "http.request", "body": b"{}", "more_body": False}]

    assert _logged_status(_reads_then_returns, gone, monkeypatch) == 499
    assert _logged_status(_reads_then_returns, body, monkeypatch) == 500
    assert _logged_status(_returns, [], monkeypatch) == 500
