"""Who waits for the log to grow is woken by PostgreSQL, not by polling it.

Every save and bulk write of the log sends a NOTIFY on the log's channel in its
transaction (ledger/persistence/pg_save.py, pg_bulk.py; one channel per schema, named in
ledger/persistence/postgres.py), which PostgreSQL delivers at commit. A server's
background threads — the projection runner and the integrity keeper — used to ask the
database ten times a second each whether anything was new, also when nothing was
written: a transaction of statements and interpreter time each time, and a request that
met one waited for it (with one client, the p99 of `/whoami` was twice what it is without
them, and of an answer as of a business date ~10 ms against ~5 ms).

A `LogWatch` listens on a connection of its own, in a thread of its own that waits in
libpq (without the interpreter lock) until a notification comes, then wakes every
subscriber (a `Wakeup`: only a thread that is waiting for new work is woken; one that
found work keeps its pace). Notifications are coalesced: after waking the
subscribers the thread sleeps `coalesce` seconds and then takes every notification that
arrived meanwhile at once (and wakes them again if there were any), so a stream of
commands wakes them at most 1/`coalesce` times a second, not once per command.

`listening` is true while the LISTEN holds. A subscriber must poll as before while it
is false, and should still look now and then while it is true (a notification can be
lost with its connection). When the connection fails the thread logs it once, retries
every `retry` seconds, and on listening again wakes every subscriber for what may have
been missed. `generation` counts the wake-ups: equal before and after a read, no commit
reached the log in between (but for the last `coalesce` seconds).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import structlog
from psycopg import sql

log = structlog.get_logger("ledger")

Connect = Callable[[], psycopg.Connection[Any]]


class LogWatch:
    def __init__(self, connect: Connect, channel: str, *, coalesce: float = 0.1,
                 retry: float = 1.0, check: float = 0.25) -> None:
        self._connect = connect
        self.channel = channel
        self.coalesce = coalesce
        self.retry = retry
        self.check = check  # how often the waiting thread looks whether it must stop
        self.generation = 0
        self.listening = False
        self._subscribers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def subscribe(self, wake: Callable[[], None]) -> None:
        """`wake()` is called at every wake-up (and once when listening starts), from the
        watch's thread: it must return at once (e.g. `Event.set`, `Wakeup.notified`)."""
        with self._lock:
            if wake not in self._subscribers:
                self._subscribers.append(wake)

    def unsubscribe(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if wake in self._subscribers:
                self._subscribers.remove(wake)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="log-watch", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.listening = False

    def wait_listening(self, timeout: float) -> bool:
        """Until the LISTEN holds (tests, and a caller that wants no poll at start)."""
        deadline = time.monotonic() + timeout
        while not self.listening and time.monotonic() < deadline:
            if self._stop.wait(0.01):
                break
        return self.listening

    def _wake(self) -> None:
        with self._lock:
            self.generation += 1
            subscribers = list(self._subscribers)
        for wake in subscribers:
            wake()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.listening = True
                    if self._failing:
                        log.info("log_watch_recovered")
                    self._failing = False
                    self._wake()  # anything may have been written before the LISTEN
                    self._listen(conn)
            except Exception as exc:  # the store is away: subscribers poll meanwhile
                if not self._failing:
                    log.warning("log_watch_failed", error=f"{type(exc).__name__}: {exc}")
                self._failing = True
            finally:
                self.listening = False
            self._stop.wait(self.retry)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            if not any(True for _ in conn.notifies(timeout=self.check, stop_after=1)):
                continue
            while not self._stop.is_set():  # a stream of commits: one wake-up per window
                self._wake()
                if self._stop.wait(self.coalesce):
                    return
                if not sum(1 for _ in conn.notifies(timeout=0)):
                    break


class Wakeup:
    """What a polling thread waits on: its own wake-ups (`set`: a poke, a stop) end a wait
    at once; the log's notifications (`notified`, subscribed to a LogWatch) only a wait
    for new work (`idle`). So a thread that found work keeps its pace under a stream of
    commands — one look per interval, as when it polled — and an idle one sleeps until a
    commit, without losing a notification that came between its look and its wait."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._idle = False
        self._moved = False

    def set(self) -> None:
        self.event.set()

    def notified(self) -> None:
        self._moved = True  # before looking at _idle: the waiter sets _idle, then looks here
        if self._idle:
            self.event.set()

    def wait(self, timeout: float, *, idle: bool) -> None:
        """Waits up to `timeout`; `idle`: a notification ends it too (or one that came since
        the last wait keeps it from starting)."""
        if idle:
            self._idle = True
            if not self._moved:
                self.event.wait(timeout)
            self._idle = False
        else:
            self.event.wait(timeout)
        self.event.clear()
        self._moved = False  # the next look reads everything committed before this

    def pause(self, watch: LogWatch | None, *, found_nothing: bool, interval: float,
              idle_interval: float) -> None:
        """The wait after a look: one that found nothing new, with `watch` listening, waits
        for a notification (looking anyway after `idle_interval`); any other keeps the
        pace of one look per `interval`, as when it polled."""
        idle = found_nothing and watch is not None and watch.listening
        self.wait(idle_interval if idle else interval, idle=idle)


def postgres_watch(datastore: Any, channel: str) -> LogWatch:
    """A LogWatch on the database of eventsourcing's PostgresDatastore `datastore`."""
    pool = datastore.pool
    params = {k: v for k, v in pool.kwargs.items() if k != "row_factory"}
    password_func = getattr(pool, "get_password_func", None)

    def connect() -> psycopg.Connection[Any]:
        extra = {"password": password_func()} if callable(password_func) else {}
        return psycopg.connect(pool.conninfo, **{**params, **extra, "autocommit": True})

    return LogWatch(connect, channel)


__all__ = ["LogWatch", "Wakeup", "postgres_watch"]
