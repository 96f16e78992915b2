"""Keeps the verified integrity checkpoint near the head while a server runs.

`GET /integrity` answers from the checkpoint and extends it by a bounded number of
links per call; without this thread a server started on a large log would answer
"verified up to n" far behind the head until enough auditors had asked. The thread
extends it in the same bounded steps (under the same lock, so several workers or
servers never race): back to back while it is more than a step behind (a server started on
a large log), then once per `interval`. Under a steady stream of commands the checkpoint
is always a few links behind the moment a step ends; stepping again at once would make
every step a transaction (and a commit) for a handful of links, competing with the
commands for the database and the interpreter.

Each step's answer is kept: while it is younger than `max_age`, `GET /integrity`
(without a digest) sends it as it is, without touching the database. It is what a
request would have answered when the step began — the head it saw and the position
up to which the chain was verified then — so it never claims more than was verified.
"""

from __future__ import annotations

import threading
import time

import structlog

from ledger.app import Ledger
from ledger.persistence.integrity import LINKS_PER_CALL, Integrity
from ledger.persistence.watch import LogWatch, Wakeup

log = structlog.get_logger("ledger")


class IntegrityKeeper:
    def __init__(self, ledger: Ledger, *, interval: float = 0.1,
                 max_age: float | None = None, idle_interval: float = 1.0) -> None:
        self.ledger = ledger
        self.interval = interval
        self.max_age = 2.5 * interval if max_age is None else max_age
        # With a watch on the log (ledger/persistence/watch.py), a keeper at the head waits
        # for a commit's notification instead of stepping every `interval`, looking anyway
        # every `idle_interval`; its answer stays current while no commit was notified.
        self.idle_interval = idle_interval
        self.watch: LogWatch | None = None
        self._stop = threading.Event()
        self._wake = Wakeup()  # stop(), and (at the head) the log's notifications
        self._thread: threading.Thread | None = None
        self._failing = False
        # (when its step began, the answer, the watch's generation then or None)
        self._latest: tuple[float, Integrity, int | None] | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            if self.watch is None:
                self.watch = self.ledger.log_watch()
            self._thread = threading.Thread(target=self._run, name="integrity", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._latest = None

    def step(self) -> bool:
        """One bounded extension; True while the checkpoint is still behind the head."""
        began = time.monotonic()
        watch = self.watch
        # Read before the step: a commit notified after this makes the answer old.
        generation = watch.generation if watch is not None and watch.listening else None
        answer = self.ledger.integrity()
        self._latest = (began, answer, generation)
        return answer.checkpoint.verified and answer.checkpoint.position < answer.head_position

    def far_behind(self) -> bool:
        """Whether the last step left more links than one step takes (catching up)."""
        latest = self._latest
        if latest is None:
            return False
        answer = latest[1]
        return (answer.checkpoint.verified
                and answer.head_position - answer.checkpoint.position >= LINKS_PER_CALL)

    def current(self) -> Integrity | None:
        """The last step's answer if that step began less than `max_age` ago, or — at the
        head, with the watch listening — if no commit was notified since it began (up to
        2.5 × `idle_interval`); no I/O."""
        latest = self._latest
        if latest is None:
            return None
        began, answer, generation = latest
        age = time.monotonic() - began
        if age < self.max_age:
            return answer
        watch = self.watch
        quiet = (generation is not None and watch is not None and watch.listening
                 and watch.generation == generation
                 and answer.checkpoint.position == answer.head_position)
        return answer if quiet and age < 2.5 * self.idle_interval else None

    def _run(self) -> None:
        watch = self.watch
        if watch is not None:
            watch.subscribe(self._wake.notified)
        try:
            while not self._stop.is_set():
                try:
                    more = self.step()
                    behind = more and self.far_behind()
                    if self._failing:
                        log.info("integrity_keeper_recovered")
                    self._failing = False
                except Exception as exc:  # the store is away: log once, try again later
                    if not self._failing:
                        log.error("integrity_keeper_failed",
                                  error=f"{type(exc).__name__}: {exc}")
                    self._failing, more, behind = True, True, False
                if not behind:
                    self._wake.pause(watch, found_nothing=not more, interval=self.interval,
                                     idle_interval=self.idle_interval)
        finally:
            if watch is not None:
                watch.unsubscribe(self._wake.notified)
