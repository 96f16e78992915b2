"""Who waits for the log to grow is woken by PostgreSQL, not by polling it.

Every save and bulk write of the log sends a NOTIFY on the events table's channel in
its transaction (eventsourcing's channel; ledger/persistence/pg_save.py, pg_bulk.py),
which PostgreSQL delivers at commit. A server's background threads — the projection
runner and the integrity keeper — used to ask the database ten times a second each
whether anything was new, also when nothing was written: a transaction of statements
and interpreter time each time, and a request that met one waited for it (with one
client, the p99 of `/whoami` was twice what it is without them, and of an answer as of
a business date ~10 ms against ~5 ms).

A `LogWatch` listens on a connection of its own, in a thread of its own that waits in
libpq (without the interpreter lock) until a notification comes, then sets every
subscribed `threading.Event`. Notifications are coalesced: after waking the
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
        self._subscribers: list[threading.Event] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def subscribe(self, event: threading.Event) -> None:
        """`event` is set at every wake-up (and once when listening starts)."""
        with self._lock:
            if event not in self._subscribers:
                self._subscribers.append(event)

    def unsubscribe(self, event: threading.Event) -> None:
        with self._lock:
            if event in self._subscribers:
                self._subscribers.remove(event)

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
        for event in subscribers:
            event.set()

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


def postgres_watch(datastore: Any, channel: str) -> LogWatch:
    """A LogWatch on the database of eventsourcing's PostgresDatastore `datastore`."""
    pool = datastore.pool
    params = {k: v for k, v in pool.kwargs.items() if k != "row_factory"}
    password_func = getattr(pool, "get_password_func", None)

    def connect() -> psycopg.Connection[Any]:
        extra = {"password": password_func()} if callable(password_func) else {}
        return psycopg.connect(pool.conninfo, **{**params, **extra, "autocommit": True})

    return LogWatch(connect, channel)


__all__ = ["LogWatch", "postgres_watch"]
