"""Questions asked before, answered straight from the request line: routing and
dependency solving skipped.

A query route's own work is small next to FastAPI's — matching the path against every
route, solving a dozen dependencies, validating each query parameter: at 1M events an
answer as of a past position spent 0.6 ms solving dependencies and as much again in
routing, against 0.3 ms for the read models' seek (profiled in process). Yet a request
that differs from one FastAPI answered a moment ago at most in the *value* of
`as_of_position` or `effective_on` asks the same question of the read models:

- the same method, path and every other byte of the query string pass the same
  validation (the parameters, the unknown-key check) and name the same route,
  read-model query and arguments;
- `as_of_position` and `effective_on` are checked here as FastAPI would: a position
  of plain digits within 0..2^62 that the read models have reached (else the route
  waits or looks up the head), a date of the form YYYY-MM-DD that exists; any other
  value (a leading zero, a percent escape, a date such as 2020-02-30) takes the route,
  which answers it or refuses it with its own problem;
- the same roles pass the same role checks (authentication and the rate limit run
  before this);
- the same Accept header chooses JSON again (CSV is never taken here);
- `as_of` and `min_position` always take the route (a look-up, a wait).

So `api.answers.answer` notes each question it answers, with those two values left
out of its key, and a later request of the same shape asks the read models again with
its own values: a current answer they keep is sent from the event loop (`peek`, no
I/O), anything else is read as the route reads it (`api.answers.body_of`: seeks awaited
on the event loop, other reads in the threadpool) — the same query the route would run,
encoded by the same model, with the same headers, the route in the scope for the
metrics, the user bound for the log. Should the read models refuse (an unknown id,
a phase that did not exist yet), the request goes through FastAPI after all, which
answers the problem as always. At most `size` questions are noted; the oldest go first.

A route may also declare (`answer(..., by_template=True)`) that its path's ids reach the
answer only as the query's arguments, as `GET /applications/{application_id}` does: then
a request for *another* id of a noted question's shape (the same route template, query
string, roles and Accept header) is answered here too, the first time it is asked — a
crawl of 100,000 applications would otherwise take the route 100,000 times. The id is
taken here only where FastAPI would certainly route and accept it: the path matches the
template's route and no other route of the app (FastAPI's served routes,
`iter_route_contexts`), each id matches the identifier pattern the route's OpenAPI
document declares for it (nothing else is taken), and the route passed the ids as the
query's arguments, in order, when it answered. An unknown id takes the route (the read
models refuse it), which answers its 404.

A route whose answer is kept in memory outside the read models (`GET /integrity`: the
integrity keeper's answer of a moment ago) notes a *peek* instead (`note_peek`): the
same request again (the same method, path, query string, roles and Accept header) is
answered with what the peek returns — no I/O, on the event loop — or, when it returns
None (the kept answer is too old), takes the route.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response, routing
from starlette.convertors import StringConvertor
from starlette.types import ASGIApp, Receive, Scope, Send

from api import tabular
from api.answers import body_of
from api.deps import MAX_POSITION
from api.schemas.common import IDENTIFIER_PATTERN

Key = tuple[bytes, str, bytes, frozenset[str], bytes]
Question = tuple[Any, Any, Callable[..., Any], tuple[Any, ...], dict[str, Any]]
# An answer kept in memory, as the route would send it, or None (the route answers).
Peek = Callable[[], bytes | None]
JSON = "application/json"
MAX_QUERY = 1000
# The parameters whose value may differ between two requests of one question (they
# become the read-model keywords `at` and `effective_on`); any other is part of its key.
FREE = (b"as_of_position", b"effective_on")
POSITIONED = (b"as_of", b"min_position")  # never here (as_of_position is FREE)
_POSITION = re.compile(rb"(?:0|[1-9][0-9]{0,18})\Z")
_DATE = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)  # (fullmatch: no newline slips past `$`)


def _shape(query: bytes) -> tuple[bytes, dict[bytes, bytes]] | None:
    """The query string with the FREE values blanked out, and those values; None when a
    FREE parameter repeats or comes without '=', or `as_of` or `min_position` is asked."""
    if not query:
        return b"", {}
    parts, free = [], {}
    for part in query.split(b"&"):
        name, eq, value = part.partition(b"=")
        if name in POSITIONED:
            return None
        if name in FREE:
            if name in free or not eq:
                return None
            free[name] = value
        parts.append(name + b"=" if name in FREE else part)
    return b"&".join(parts), free


def _question_of(scope: Scope) -> tuple[Key, dict[bytes, bytes]] | None:
    principal = scope.get("state", {}).get("principal")
    if scope["method"] != "GET" or principal is None:
        return None
    query: bytes = scope.get("query_string", b"")
    if len(query) > MAX_QUERY:
        return None  # (a long query string is not worth its memory)
    shaped = _shape(query)
    if shaped is None:
        return None
    accept = next((v for n, v in scope["headers"] if n == b"accept"), b"")
    return (scope["method"].encode(), scope["path"], shaped[0], principal.roles, accept), \
        shaped[1]


def _values(free: dict[bytes, bytes]) -> dict[str, Any] | None:
    """The read-model keywords of the FREE values, as the route's dependencies make them
    (api/deps.py: read_position, read_effective_on); None for anything else."""
    values: dict[str, Any] = {}
    position = free.get(b"as_of_position")
    if position is not None:
        if not _POSITION.match(position) or int(position) > MAX_POSITION:
            return None
        values["at"] = int(position)
    day = free.get(b"effective_on")
    if day is not None:
        if not _DATE.match(day):
            return None
        try:
            values["effective_on"] = date.fromisoformat(day.decode())
        except ValueError:
            return None
    return values


@dataclass(frozen=True)
class Template:
    """A route whose ids may differ between two requests of one question."""

    route: Any
    regex: re.Pattern[str]
    rivals: tuple[re.Pattern[str], ...]  # the other routes that a path of it might match

    def ids(self, path: str) -> tuple[str, ...] | None:
        """The ids of `path` if FastAPI would route it here and accept them, else None."""
        match = self.regex.match(path)
        if match is None:
            return None
        ids = tuple(match.groupdict().values())
        if not all(_IDENTIFIER.fullmatch(value) for value in ids):
            return None
        if any(rival.match(path) for rival in self.rivals):
            return None  # routed elsewhere, or not only here: the route decides
        return ids


def template_of(app: FastAPI, route: Any) -> Template | None:
    """The template of `route`, if every path parameter is a plain segment that its
    OpenAPI document declares as an identifier (IDENTIFIER_PATTERN), and every other
    served route is known by its path's pattern; else None."""
    fmt, regex = getattr(route, "path_format", None), getattr(route, "path_regex", None)
    convertors = getattr(route, "param_convertors", None) or {}
    if not isinstance(fmt, str) or regex is None or not convertors or any(
            not isinstance(c, StringConvertor) for c in convertors.values()):
        return None
    try:
        parameters = app.openapi()["paths"][fmt]["get"].get("parameters", [])
    except (KeyError, TypeError):
        return None
    declared = {p.get("name"): p.get("schema", {}) for p in parameters if p.get("in") == "path"}
    if set(declared) != set(convertors) or any(
            schema.get("type") != "string" or schema.get("pattern") != IDENTIFIER_PATTERN
            for schema in declared.values()):
        return None
    literal = fmt.split("{", 1)[0]
    rivals = []
    # FastAPI ≥ 0.13x serves included routers lazily: their routes as served (prefix and
    # all) are route contexts; before, app.router.routes held them, flattened (api/routes.py)
    iterate = getattr(routing, "iter_route_contexts", None)
    for served in iterate(app.router.routes) if iterate else app.router.routes:
        if getattr(served, "original_route", served) is route:
            continue
        other, pattern = getattr(served, "path_format", None), getattr(served, "path_regex", None)
        if not isinstance(other, str) or pattern is None:
            return None  # a route not known by its path (a host, say): no templates
        prefix = other.split("{", 1)[0]
        if prefix.startswith(literal) or literal.startswith(prefix):
            rivals.append(pattern)
    return Template(route, regex, tuple(rivals))


class KeptQuestions:
    """Questions the routes answered, by the shape of the request that asked them."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._questions: OrderedDict[Key, Question] = OrderedDict()
        self._templates: dict[str, Template | None] = {}  # by the route's path format

    def note(self, request: Request, model: Any, query: Callable[..., Any],
             args: tuple[Any, ...], kwargs: dict[str, Any], *,
             by_template: bool = False) -> None:
        """Notes the question `query(*args, **kwargs)` that the route answered for
        `request`; `by_template`: for any id in its path, too (see the module)."""
        found = _question_of(request.scope)
        if found is None or tabular.wants_csv(request):
            return
        key, free = found
        # The FREE values must be exactly what the route's dependencies made of them:
        # the same parameters decoded (no escaped name slipped past _shape), and the
        # keywords they became (else this route uses them otherwise: not noted).
        decoded = request.query_params
        values = _values(free)
        if values is None or any(decoded.getlist(name.decode()) != [free[name].decode()]
                                 for name in free):
            return
        if any(name.decode() in decoded for name in (*FREE, *POSITIONED) if name not in free):
            return  # (a name escaped in the query string)
        if kwargs.get("at") != values.get("at") or (
                b"effective_on" in free and kwargs.get("effective_on") != values["effective_on"]):
            return
        fixed = {k: v for k, v in kwargs.items() if k not in values}
        route = request.scope.get("route")
        self._keep(key, (route, model, query, args, fixed))
        template = self._template(request, route, args, fixed) if by_template else None
        if template is not None:
            self._keep(_by_template(key, template), (route, model, query, (), fixed))

    def note_peek(self, request: Request, route: Any, peek: Peek) -> None:
        """Notes that `route` answered `request` with what `peek()` returns now: the same
        request again is answered with `peek()` before routing (a question whose model is
        None), or takes the route when that is None. Only for a request without the FREE
        values (they would be ignored) that FastAPI answered as JSON."""
        found = _question_of(request.scope)
        if found is None or found[1] or tabular.wants_csv(request):
            return
        self._keep(found[0], (route, None, peek, (), {}))

    def _keep(self, key: Key, question: Question) -> None:
        self._questions[key] = question
        self._questions.move_to_end(key)
        if len(self._questions) > self.size:
            self._questions.popitem(last=False)

    def _template(self, request: Request, route: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Template | None:
        """The template of the route that answered `request`, if its ids were the query's
        arguments, in order, and nothing else (else None)."""
        fmt = getattr(route, "path_format", None)
        if not isinstance(fmt, str) or request.scope.get("root_path"):
            return None
        if fmt not in self._templates:
            try:
                self._templates[fmt] = template_of(request.app, route)
            except Exception:  # (an OpenAPI document that fails): never a template, only slower
                self._templates[fmt] = None
        template = self._templates[fmt]
        if template is None or template.route is not route:
            return None
        ids = template.ids(request.scope["path"])
        if ids is None or ids != args or any(value in ids for value in kwargs.values()):
            return None  # the ids reach the answer otherwise too
        return template

    def find(self, scope: Scope) -> Question | None:
        """The noted question of a request of this shape, with this request's values; or
        None (the request takes the route)."""
        found = _question_of(scope)
        if found is None:
            return None
        key, free = found
        question = self._questions.get(key)
        args: tuple[Any, ...] | None = None
        if question is None and not scope.get("root_path"):
            for template in self._templates.values():
                if template is None:
                    continue  # (a route noted as not templated)
                ids = template.ids(scope["path"])
                if ids is not None:
                    question, args = self._questions.get(_by_template(key, template)), ids
                    break
        values = _values(free) if question is not None else None
        if question is None or values is None:
            return None
        route, model, query, noted, kwargs = question
        return route, model, query, noted if args is None else args, {**kwargs, **values}


def _by_template(key: Key, template: Template) -> Key:
    """The key of a question by its route's template instead of its path."""
    return (key[0], "{template}" + template.route.path_format, *key[2:])


class KeptAnswerMiddleware:
    """Answers a request of a shape noted in `KeptQuestions` with the read models' answer
    to it; otherwise, or when they refuse, passes it on to the routes."""

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
        if model is None:  # a peek (KeptQuestions.note_peek): kept bytes, or the route
            kept = query()
            if kept is None:
                await self.app(scope, receive, send)
                return
            await self._send(scope, receive, send, route, kept)
            return
        at = kwargs.get("at")
        if at is not None and not read.reached(at):
            await self.app(scope, receive, send)  # the route waits for the projections
            return
        try:
            body = await body_of(read, model, query, args, kwargs)
        except Exception:  # the route answers it again, as a problem
            await self.app(scope, receive, send)
            return
        await self._send(scope, receive, send, route, body)

    @staticmethod
    async def _send(scope: Scope, receive: Receive, send: Send, route: Any,
                    body: bytes) -> None:
        scope["route"] = route  # as routing would have set it (the metrics' label)
        structlog.contextvars.bind_contextvars(user=scope["state"]["principal"].user)
        await Response(body, media_type=JSON)(scope, receive, send)
