"""Synchronous read-model code whose seeks are awaited on the event loop, by greenlets.

The read models are plain functions that call `Tx.execute` and get rows back. The API
ran each answer in the threadpool, and under load that hop cost as much again as the
answer itself: an answer as of a past position took 1.35 ms of the server's CPU with
16 clients, 0.82 ms when the same code ran on the event loop's own thread (measured
with `wrk`, the server's CPU read from /proc). The threads' handing the GIL to and fro
with the loop, not the database, made the difference.

`run(fn)` runs `fn` in a greenlet on the loop's thread. A statement it executes on a
connection of the async seek pool (`Database.statements(seeks=True)`) is sent with
psycopg's async interface: `wait(awaitable)` switches back to `run`, which awaits it
while the loop serves other requests, and switches into the greenlet again with the
rows. This is how SQLAlchemy's asyncio extension runs its synchronous ORM over async
drivers (`greenlet_spawn` / `await_only`), with the same library.

Anything else that would wait on the database inside `run` — a snapshot, a write, a
pool of plain connections, SQLite — raises `WouldBlock` instead of stalling the loop:
the caller runs `fn` again in the threadpool (read-only code: running it twice is
harmless, and only the rare path that is not a seek pays for it).
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet

T = TypeVar("T")


class WouldBlock(RuntimeError):
    """`fn` of `run` needed a blocking wait (a statement outside the async seek pool)."""


class _Bridged(greenlet):
    """The greenlet of one `run`: the code inside may `wait`."""


def inside() -> bool:
    """True in the greenlet of `run` (an await is possible, a blocking wait is not)."""
    return isinstance(getcurrent(), _Bridged)


def refuse_blocking(what: str) -> None:
    """Raises WouldBlock inside `run`: `what` would stall the event loop."""
    if inside():
        raise WouldBlock(f"{what} would block the event loop")


def wait(awaitable: Awaitable[T]) -> T:
    """The result of `awaitable`, awaited by `run` on the event loop (only inside `run`)."""
    current = getcurrent()
    if not isinstance(current, _Bridged) or current.parent is None:
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never to be awaited: no "never awaited" warning
        raise WouldBlock("an await outside a bridged greenlet")
    return cast(T, current.parent.switch(awaitable))


async def run(fn: Callable[[], T]) -> T:
    """`fn()` on this thread; each awaitable it hands to `wait` is awaited here."""
    bridged = _Bridged(fn)
    bridged.gr_context = contextvars.copy_context()  # the request's (its log's bound values)
    request: Any = bridged.switch()
    while not bridged.dead:
        try:
            result = await request
        except BaseException as error:  # thrown into fn, where it belongs
            request = bridged.throw(error)
        else:
            request = bridged.switch(result)
    return cast(T, request)
