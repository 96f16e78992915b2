"""Kept answers straight from the request line: routing and dependency solving skipped.

A query route answers a kept answer (projections/answers.py) with almost no work of its
own; what is left is FastAPI's — matching the path against every route, solving a
dozen dependencies, validating each query parameter (the profile: half the event
loop's time for `GET /audit`). Yet a request identical to one answered from a kept
answer a moment ago asks the same question:

- the same method, path and query string pass the same validation (the parameters and
  the unknown-key check), and name the same route, read-model query and arguments;
- the same roles pass the same role checks (authentication runs before this, and the
  rate limit too);
- the same Accept header chooses JSON again (CSV is never taken here);
- no `as_of`, `as_of_position` or `min_position`: those never come from a kept answer.

So `api.answers.answer` notes such a request here, and a later identical one asks the
read models the noted question again (`peek`, no I/O): if they hold a current answer,
it is sent as the route would send it (the same bytes and headers, the route in the
scope for the metrics, the user bound for the log); if not, the request goes through
FastAPI as usual. At most `size` questions are noted; the oldest go first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api import tabular
from api.answers import encode

Key = tuple[bytes, str, bytes, frozenset[str], bytes]
Question = tuple[Any, Any, Callable[..., Any], tuple[Any, ...], dict[str, Any]]
POSITIONED = (b"as_of", b"min_position")  # as_of_position too: it starts with as_of
JSON = "application/json"
MAX_QUERY = 1000


def _key(scope: Scope) -> Key | None:
    principal = scope.get("state", {}).get("principal")
    if scope["method"] != "GET" or principal is None:
        return None
    query: bytes = scope.get("query_string", b"")
    if len(query) > MAX_QUERY or any(name in query for name in POSITIONED):
        return None  # (a long query string is not worth its memory)
    accept = next((v for n, v in scope["headers"] if n == b"accept"), b"")
    return (scope["method"].encode(), scope["path"], query, principal.roles, accept)


class KeptQuestions:
    """Questions answered from kept answers, by the request that asked them."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._questions: OrderedDict[Key, Question] = OrderedDict()

    def note(self, request: Request, model: Any, query: Callable[..., Any],
             args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        key = _key(request.scope)
        if key is None or kwargs.get("at") is not None or tabular.wants_csv(request):
            return
        self._questions[key] = (request.scope.get("route"), model, query, args, kwargs)
        if len(self._questions) > self.size:
            self._questions.popitem(last=False)

    def find(self, scope: Scope) -> Question | None:
        key = _key(scope)
        return self._questions.get(key) if key is not None else None


class KeptAnswerMiddleware:
    """Sends the current kept answer to a request noted in `KeptQuestions`, else passes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state if scope["type"] == "http" and "app" in scope else None
        questions: KeptQuestions | None = getattr(state, "kept_questions", None)
        question = questions.find(scope) if questions is not None else None
        read = getattr(state, "read_models", None)
        if question is None or read is None:
            await self.app(scope, receive, send)
            return
        route, model, query, args, kwargs = question
        document = read.peek(query, *args, **kwargs)
        if document is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # as routing would have set it (the metrics' label)
        structlog.contextvars.bind_contextvars(user=scope["state"]["principal"].user)
        await Response(encode(document, model), media_type=JSON)(scope, receive, send)
