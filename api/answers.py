"""Query answers as JSON bytes: a kept answer is encoded once, and served from the event loop.

A route declares its `response_model` (the OpenAPI document shows it) and returns
`await answer(...)`: the bytes are what FastAPI would send for the same dict —
validated by the same model and serialised by pydantic's `dump_json` with aliases —
so the schema holds exactly, but FastAPI validates nothing more per request.

- A current answer the read models keep (projections/answers.py) is looked up
  without blocking (`peek`); found, it is answered on the event loop from the bytes
  encoded the first time, with no threadpool hop and no validation.
- Otherwise the query and its encoding run in one threadpool hop (FastAPI's own
  path takes two for a plain `def` route: the handler, then the validation) — or,
  for seeks on PostgreSQL (an answer as of a position, a current application), on the
  event loop itself, its statements awaited there (`compute`, projections/bridge.py).
- Either way the question is noted (api/shortcut.py): the same request again is
  answered before routing, from the answer kept then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from api import tabular
from projections import bridge
from projections.answers import Kept
from projections.interface import ReadModels

T = TypeVar("T")
Json = dict[str, Any]
Csv = Callable[[Json], Response]
JSON = "application/json"


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def encode(document: Json, model: Any) -> bytes:
    """`document` as FastAPI answers it for `response_model=model`; kept answers once.

    Raises pydantic.ValidationError when `document` does not fit `model` (FastAPI's
    ResponseValidationError: a bug of the read side, answered 500)."""
    encodings = document.encodings if isinstance(document, Kept) else None
    if encodings is not None and (body := encodings.get(model)) is not None:
        return body
    adapter = _adapter(model)
    body = adapter.dump_json(adapter.validate_python(document, from_attributes=True),
                             by_alias=True)
    if encodings is not None:
        encodings[model] = body  # a race encodes twice, to the same bytes
    return body


def _by_seeks(query: Callable[..., Any], kwargs: dict[str, Any]) -> bool:
    """True when `query(**kwargs)` reads by seeks alone: as of a position, or a query whose
    current answers are seeks too (projections/answers.py, `kept(seeks=True)`)."""
    return kwargs.get("at") is not None or bool(getattr(query, "seeks_now", False))


async def compute(read: ReadModels, fn: Callable[[], T], *, seeks: bool = False) -> T:
    """`fn()` (a read-model query and its encoding) off the event loop's own work: for
    `seeks`, where the read models await their seeks on the loop (PostgreSQL), there
    (projections/bridge.py: no thread, no handing of the GIL to and fro); otherwise, or
    should it need more than seeks, in the threadpool."""
    if seeks and getattr(read, "seeks_on_loop", False):
        try:
            return await bridge.run(fn)
        except bridge.WouldBlock:
            pass  # e.g. a version not yet looked at: its snapshot, in a thread
    return await run_in_threadpool(fn)


async def body_of(read: ReadModels, model: Any, query: Callable[..., Json],
                  args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """`query(*args, **kwargs)` as JSON bytes of `model`: its kept answer's without
    blocking (`peek`), else read by `compute` (raises what the query raises)."""
    document = read.peek(query, *args, **kwargs)
    if document is not None:
        return encode(document, model)
    return await compute(read, lambda: encode(query(*args, **kwargs), model),
                         seeks=_by_seeks(query, kwargs))


async def answer(request: Request, read: ReadModels, model: Any,
                 query: Callable[..., Json], *args: Any, csv: Csv | None = None,
                 by_template: bool = False, **kwargs: Any) -> Response:
    """`query(*args, **kwargs)` as JSON of `model`, or as CSV by `csv` when asked.

    `by_template`: the path's ids are `args`, in order, and reach the answer no other way
    (no check of the caller against them): the same question for another id may then be
    answered before routing too (api/shortcut.py)."""
    if csv is not None and tabular.wants_csv(request):
        return await run_in_threadpool(lambda: csv(query(*args, **kwargs)))
    body = await body_of(read, model, query, args, kwargs)
    questions = getattr(request.app.state, "kept_questions", None)
    if questions is not None and getattr(query, "kept_by", None) is not None:
        questions.note(request, model, query, args, kwargs,  # api/shortcut.py
                       by_template=by_template)
    return Response(body, media_type=JSON)
