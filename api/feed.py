"""The live change feed: the log from a position as Server-Sent Events (SPEC §6).

One `HeadWatch` per process polls the log's head (one cheap query per interval,
however many clients follow) and wakes the streams waiting beyond it; each stream
then reads its next page with `read_log` (ledger/persistence/log.py), the one way
every reader reads the log. A stream holds at most one page (`PAGE` records) and no
thread: it awaits the page read in the threadpool and the client's socket between
pages, so a slow client slows only its own stream. `MAX_STREAMS` bounds the streams
of one process; beyond it a client is answered 429 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from starlette.concurrency import run_in_threadpool

from ledger import Ledger
from ledger.domain.base import entity_uuid
from ledger.persistence.log import LogRecord, plain_decoder

PAGE = 200  # records read (and held) at once per stream
POLL_SECONDS = 0.2  # how often the head is polled while anyone follows
KEEP_ALIVE_SECONDS = 15.0  # a comment line this often keeps proxies from closing idle streams
RETRY_MILLISECONDS = 2000
MAX_STREAMS = 64  # per process
log = structlog.get_logger("api")
NAMED_KINDS = ("programme", "phase", "recipient")


class HeadWatch:
    """Knows the log's head position; wakes waiters when it moves. Polls only while
    someone waits, from a task of the event loop it was first used on."""

    def __init__(self, head: Callable[[], int], *, interval: float = POLL_SECONDS) -> None:
        self._read_head = head
        self._interval = interval
        self.head = -1
        self._moved = asyncio.Event()
        self._waiters = 0
        self._task: asyncio.Task[None] | None = None
        self.streams = 0
        self.stopping = False  # the server is shutting down: every stream ends

    def stop(self) -> None:
        """Ends every stream: waiters wake, and streams stop after the frame they send
        (the client reconnects with `Last-Event-ID`, to this server restarted or to
        another). Without it a shutdown waited for each follower to leave."""
        self.stopping = True
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        """True once the head is beyond `position`; False after `timeout` seconds."""
        if self.head > position:
            return True
        self._waiters += 1
        try:
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._poll())
            deadline = asyncio.get_running_loop().time() + timeout
            while self.head <= position and not self.stopping:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    return False
                moved = self._moved
                try:
                    await asyncio.wait_for(moved.wait(), left)
                except TimeoutError:
                    return self.head > position
            return self.head > position
        finally:
            self._waiters -= 1

    async def _poll(self) -> None:
        while self._waiters > 0:
            try:
                head = await run_in_threadpool(self._read_head)
            except Exception as exc:  # the store is away: streams keep alive, polling goes on
                log.warning("feed_head_unreadable", error=type(exc).__name__,
                            message=str(exc)[:200])
                await asyncio.sleep(1.0)
                continue
            if head != self.head:
                self.head = head
                moved, self._moved = self._moved, asyncio.Event()
                moved.set()
            await asyncio.sleep(self._interval)


@dataclass(frozen=True)
class Filter:
    """Which events a stream sends: by event type (`Approved` or `Application.Approved`)
    and by entity (an application id, or a programme, phase or recipient id)."""

    event_types: frozenset[str] = frozenset()
    originators: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, event_types: Sequence[str], entity_ids: Sequence[str]) -> Filter:
        originators: set[str] = set()
        for entity_id in entity_ids:
            originators.update(str(entity_uuid(kind, entity_id)) for kind in NAMED_KINDS)
            with contextlib.suppress(ValueError):
                originators.add(str(UUID(entity_id)))
        return cls(frozenset(event_types), frozenset(originators))

    def passes(self, record: LogRecord) -> bool:
        if self.originators and record.originator_id not in self.originators:
            return False
        if not self.event_types:
            return True
        qualified = ".".join(record.event_type.split(".")[-2:])  # Application.Approved
        return qualified in self.event_types or qualified.split(".")[-1] in self.event_types


def event_json(record: LogRecord, fields: dict[str, Any]) -> dict[str, Any]:
    """One event as the feed sends it: the shape of `GET /events` items."""
    return {
        "position": record.position, "recorded_at": record.recorded_at,
        "aggregate_id": record.originator_id, "aggregate_version": record.originator_version,
        "event_type": ".".join(record.event_type.split(".")[-2:]), "topic": record.topic,
        "data": fields, "hash": record.hash,
    }


def frame(*, data: str, event_id: int | None = None, event: str | None = None) -> bytes:
    """One SSE frame; `data` must be a single line (compact JSON is)."""
    lines = [] if event_id is None else [f"id: {event_id}"]
    if event is not None:
        lines.append(f"event: {event}")
    lines.append(f"data: {data}")
    return ("\n".join(lines) + "\n\n").encode()


async def follow(
    ledger: Ledger, watch: HeadWatch, *, after: int, only: Filter,
    disconnected: Callable[[], Any],
) -> AsyncIterator[bytes]:
    """The frames of the log after `after`, forever: every matching event with its
    position as SSE id, a keep-alive comment when nothing arrived for KEEP_ALIVE_SECONDS.

    A filtered-out page still moves the stream on (and, past the last event of a
    page that matched nothing, a comment with the position lets a client note it)."""
    fields_of = plain_decoder(ledger)
    position = after
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    while not watch.stopping and not await disconnected():
        records: Sequence[LogRecord] = await run_in_threadpool(
            ledger.chained_recorder.read_log, after=position, limit=PAGE)
        if records:
            chunk = b"".join(
                frame(data=json.dumps(event_json(r, fields_of(r)), separators=(",", ":"),
                                      ensure_ascii=False), event_id=r.position)
                for r in records if only.passes(r))
            position = records[-1].position
            yield chunk or f": position {position}\n\n".encode()
            continue
        if not await watch.wait_beyond(position, KEEP_ALIVE_SECONDS) and not watch.stopping:
            yield b": keep-alive\n\n"


def on_stop_signals(callback: Callable[[], None]) -> Callable[[], None]:
    """Calls `callback` on the running loop when SIGTERM or SIGINT arrives, then the
    handler installed before (uvicorn's, which starts its graceful shutdown: stop
    accepting, wait for the running requests). Returns what undoes it. Only in the main
    thread, where signals are handled, and only over a handler that is a function (a
    server that handles the signal itself): elsewhere, nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[int, tuple[Any, Any]] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        before = signal.getsignal(sig)
        if not callable(before):
            continue

        def handler(signum: int, frame: Any, before: Any = before) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed already: nothing to end
                loop.call_soon_threadsafe(callback)
            before(signum, frame)

        signal.signal(sig, handler)
        installed[sig] = (handler, before)

    def undo() -> None:
        for sig, (handler, before) in installed.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, before)

    return undo
