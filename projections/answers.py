"""Answers at the live position, kept until the projections move on.

Under load many clients ask the same current figure (a phase's totals, a year's
reconciliation) while the projections stand at one position; the answer is the
same every time, so it is computed once. The live position is read from the
database at most every `max_age_seconds` (one statement), so an answer may be that
much older than the newest batch (twice that from `peek` while a read is under way)
— within what a projection's lag already means (the runner polls every 0.1 s).
A client that must read its own writes passes `min_position`: `wait_for` refreshes
the live position when it returns, so no older answer is served after it.

Answers are shared between callers: they must not be mutated (the API only
serialises them). A kept answer is a `Kept` dict that also holds its encoded forms,
so the API serialises it once, not per request. At most 256 are kept, none with
more than 100 rows, so a crawl of long pages cannot grow the server's memory.

`peek` finds a kept answer without touching the database (nor blocking on it), so
an async caller can answer on the event loop and leave the threadpool for misses.

The kept view (`view`) also serves answers as of an earlier position: the rows they
read no longer change, so they are read with statements on their own, without a
snapshot (ReadModelsImpl._read). Should the view's version have been dropped since
(two rebuilds), `kept` asks once more after reading the view again.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from projections import base, bridge
from projections.db import Database, missing_table

Json = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Json])
Live = dict[str, tuple[str, int]]  # projection → (live tag, tracking position)
MAX_ROWS = 100  # longer pages are not kept: at most `size` answers of ≤ 100 rows each


class Kept(dict[str, Any]):
    """A kept answer, with its serialised forms by encoder (filled by the API, once)."""

    __slots__ = ("encodings",)

    def __init__(self, answer: Json) -> None:
        super().__init__(answer)
        self.encodings: dict[Any, bytes] = {}


class Answers:
    def __init__(self, db: Database, *, max_age_seconds: float = 0.02, size: int = 256) -> None:
        self._db = db
        self._max_age = max_age_seconds
        self._size = size
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        # Reads ahead of need (`peek`) are made by one thread, woken when wanted: starting
        # a thread per read blocked the event loop until it ran (Thread.start waits for
        # it), ~10 % of a busy server's loop at 100 reads a second.
        self._ahead = threading.Event()
        self._reader: threading.Thread | None = None
        self._closed = False
        self._live: Live = {}
        self._read_at = 0.0
        self._answers: OrderedDict[tuple[Any, ...], Json] = OrderedDict()

    def live(self) -> Live:
        if time.monotonic() - self._read_at >= self._max_age:
            bridge.refuse_blocking("reading the live position")  # (on a loop: a thread's)
            if self._refreshing.acquire(blocking=not self._live):
                try:
                    self.refresh()
                finally:
                    self._refreshing.release()
        return self._live

    def refresh(self) -> None:
        started = time.monotonic()
        rows = self._db.fetch(base.SELECT_LIVE_POSITIONS)
        live = {str(name): (str(tag), int(position)) for name, tag, position in rows}
        with self._lock:
            # Reads overlap (one ahead of need, one for min_position): the one that began
            # first must not undo the newer one, or an older answer could follow a wait.
            if started >= self._read_at:
                self._live, self._read_at = live, started

    def view(self, projection: str) -> tuple[str, int] | None:
        """The live version (tag, position) of `projection` when last looked at, however
        long ago; no I/O. Rows of that version at or before that position no longer change
        (a rebuilt version goes live at the head, and the one before it is kept until the
        next rebuild), so an answer as of an earlier position may read them without a
        snapshot."""
        return self._live.get(projection)

    def reached(self, position: int) -> bool:
        """True if every projection stood at `position` or beyond when last looked at
        (positions only grow, and a rebuilt version goes live at the head); no I/O."""
        live = self._live
        return bool(live) and min(at for _, at in live.values()) >= position

    def peek(self, projection: str, asked: tuple[Any, ...]) -> Json | None:
        """The kept answer to `asked` while the live position is fresh, else None.

        Never reads the database itself: past half its age the live position is read
        again by the reader thread (one read at a time), so that under steady load it is
        fresh before it expires and answers keep being found here. While that read is
        under way (the thread waits for the GIL behind a busy event loop) the view
        serves up to twice its age."""
        age = time.monotonic() - self._read_at
        if age >= self._max_age / 2 and not self._ahead.is_set():
            self._read_ahead()
        if age >= self._max_age * (2 if self._ahead.is_set() else 1):
            return None
        tag, position = self._live.get(projection, ("", -1))
        return self.get((*asked, tag, position))

    def _read_ahead(self) -> None:
        """Wakes the reader thread (started at the first need) to read the live position."""
        if self._reader is None:
            with self._lock:
                if self._reader is None and not self._closed:
                    self._reader = threading.Thread(target=self._reading, daemon=True,
                                                     name="live-position")
                    self._reader.start()
        self._ahead.set()

    def _reading(self) -> None:
        while True:
            self._ahead.wait()
            if self._closed:
                return
            # A read ahead of need: if it fails, the next request's own `live()` reads
            # again and fails loudly, so nothing is hidden by dropping the error here.
            with self._refreshing, contextlib.suppress(Exception):
                self.refresh()
            self._ahead.clear()

    def close(self) -> None:
        """Stops the reader thread (the next `peek` past half the age finds nothing kept)."""
        self._closed = True
        self._ahead.set()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)

    def get(self, key: tuple[Any, ...]) -> Json | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: tuple[Any, ...], answer: Json) -> Json:
        """Keeps `answer`; returns what to answer (the kept copy, or `answer` itself)."""
        if any(len(answer.get(name) or ()) > MAX_ROWS for name in ("items", "accounts")):
            return answer  # a long page is asked rarely and weighs much: memory stays bounded
        kept = Kept(answer)
        with self._lock:
            self._answers[key] = kept
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return kept


def asked(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The key of a question (the answer's tag and position are added to it)."""
    return (method, args, tuple(sorted(kwargs.items())))


def kept(projection: str, *, seeks: bool = False) -> Callable[[F], F]:
    """A query method of ReadModelsImpl whose current answers (no `at`) are kept;
    `seeks`: its current answers too read by seeks alone (`Database.statements(seeks=
    True)`), so the API may await them on its event loop (projections/bridge.py), as it
    does every answer as of a position."""

    def wrap(method: F) -> F:
        def ask(self: Any, answers: Answers, args: tuple[Any, ...], at: int | None,
                kwargs: dict[str, Any]) -> Json:
            if at is not None:
                return method(self, *args, at=at, **kwargs)
            tag, position = answers.live().get(projection, ("", -1))
            key = (*asked(method.__name__, args, kwargs), tag)
            answer = answers.get((*key, position))
            if answer is None:
                fresh = method(self, *args, **kwargs)
                answer = answers.put((*key, fresh["position"]), fresh)
            return answer

        @functools.wraps(method)
        def query(self: Any, *args: Any, at: int | None = None, **kwargs: Any) -> Json:
            answers: Answers | None = self.answers
            if answers is None:
                return method(self, *args, at=at, **kwargs)
            try:
                return ask(self, answers, args, at, kwargs)
            except Exception as error:
                if not missing_table(error):
                    raise
                # Read outside a snapshot from a version dropped since it was last looked
                # at (two rebuilds meanwhile): once more, from the live one.
                answers.refresh()
                return ask(self, answers, args, at, kwargs)

        query.kept_by = projection  # type: ignore[attr-defined]  # read by ReadModelsImpl.peek
        query.seeks_now = seeks  # type: ignore[attr-defined]  # read by api.answers.compute
        return cast(F, query)

    return wrap
