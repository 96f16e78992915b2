"""Answers at the live position, kept until the projections move on.

Under load many clients ask the same current figure (a phase's totals, a year's
reconciliation) while the projections stand at one position; the answer is the
same every time, so it is computed once. The live position is read from the
database at most every `max_age_seconds` (one statement), so an answer may be that
much older than the newest batch — within what a projection's lag already means.
A client that must read its own writes passes `min_position`: `wait_for` refreshes
the live position when it returns, so no older answer is served after it.

Answers are shared between callers: they must not be mutated (the API only
serialises them). At most 256 are kept, none with more than 100 rows, so a crawl of
long pages cannot grow the server's memory.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from projections import base
from projections.db import Database

Json = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Json])
Live = dict[str, tuple[str, int]]  # projection → (live tag, tracking position)
MAX_ROWS = 100  # longer pages are not kept: at most `size` answers of ≤ 100 rows each


class Answers:
    def __init__(self, db: Database, *, max_age_seconds: float = 0.02, size: int = 256) -> None:
        self._db = db
        self._max_age = max_age_seconds
        self._size = size
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._live: Live = {}
        self._read_at = 0.0
        self._answers: OrderedDict[tuple[Any, ...], Json] = OrderedDict()

    def live(self) -> Live:
        if time.monotonic() - self._read_at >= self._max_age and self._refreshing.acquire(
                blocking=not self._live):
            try:
                self.refresh()
            finally:
                self._refreshing.release()
        return self._live

    def refresh(self) -> None:
        with self._db.read() as tx:
            rows = tx.execute(base.SELECT_LIVE_POSITIONS)
        self._live = {str(name): (str(tag), int(position)) for name, tag, position in rows}
        self._read_at = time.monotonic()

    def get(self, key: tuple[Any, ...]) -> Json | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: tuple[Any, ...], answer: Json) -> None:
        if any(len(answer.get(name) or ()) > MAX_ROWS for name in ("items", "accounts")):
            return  # a long page is asked rarely and weighs much: memory stays bounded
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)


def kept(projection: str) -> Callable[[F], F]:
    """A query method of ReadModelsImpl whose current answers (no `at`) are kept."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def query(self: Any, *args: Any, at: int | None = None, **kwargs: Any) -> Json:
            answers: Answers | None = self.answers
            if at is not None or answers is None:
                return method(self, *args, at=at, **kwargs)
            tag, position = answers.live().get(projection, ("", -1))
            asked = (method.__name__, args, tuple(sorted(kwargs.items())), tag)
            answer = answers.get((*asked, position))
            if answer is None:
                answer = method(self, *args, **kwargs)
                answers.put((*asked, answer["position"]), answer)
            return answer

        return cast(F, query)

    return wrap
