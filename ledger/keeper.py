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

Far behind (`catch_up_from` links: a server started on a log imported in bulk, or after
a long stop), the hashing moves out of the server's process: `catch_up` starts a child
process (`python -m ledger.keeper`) that extends the checkpoint to the head in steps of
`CATCH_UP_STEP` links (SQLite: `LINKS_PER_CALL`), each a transaction under the same
lock. Hashing in a thread of the server held its interpreter: on the 1M bench log, while
the keeper caught up, `/whoami` served ~1,000 req/s with a p99 of ~70 ms against ~1,450
and ~15 ms after. Meanwhile the thread only reads the checkpoint every `interval` (two
reads, no hashing), so `GET /integrity` shows the child's progress; when the child is
done (or fails: logged, not started again for `CATCH_UP_PAUSE` seconds) the thread steps
as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import structlog

from ledger.app import Ledger
from ledger.persistence.integrity import LINKS_PER_CALL, Integrity
from ledger.persistence.watch import LogWatch, Wakeup
from ledger.settings import Settings, database_kind

log = structlog.get_logger("ledger")

CATCH_UP_FROM = 20_000  # links behind (~1 s of hashing here) from which a child catches up
CATCH_UP_STEP = 20_000  # links per step (transaction) of the child (SQLite: LINKS_PER_CALL)
CATCH_UP_PAUSE = 60.0  # seconds before a child is started again after one failed
CatchUp = Callable[[], "subprocess.Popen[bytes]"]


def child_catch_up(settings: Settings) -> CatchUp | None:
    """Starts `python -m ledger.keeper` on `settings`' database; None for `memory://`
    (no other process can reach it)."""
    if database_kind(settings.database_url) == "memory":
        return None

    def start() -> subprocess.Popen[bytes]:
        env = {**os.environ, "LEDGER_DATABASE_URL": settings.database_url}
        if settings.log_format is not None:
            env["LEDGER_LOG_FORMAT"] = settings.log_format
        return subprocess.Popen(
            [sys.executable, "-m", "ledger.keeper"], env=env, stdin=subprocess.DEVNULL)

    return start


def catch_up(ledger: Ledger, *, step: int = CATCH_UP_STEP, parent: int | None = None,
             pause: float = 0.2) -> Integrity:
    """Extends the checkpoint to the head as it stood at the start, `step` links per
    transaction; stops early where the chain is broken, or when `parent` (a process id)
    is no longer this process's parent. Where another process holds the checkpoint's lock
    it waits `pause` seconds and tries again."""
    target = ledger.head()[0]
    before = ledger.integrity(limit=0).checkpoint.position
    while True:
        answer = ledger.integrity(limit=step)
        checkpoint = answer.checkpoint
        if not checkpoint.verified or checkpoint.position >= target:
            return answer
        if parent is not None and os.getppid() != parent:
            return answer
        if checkpoint.position == before:  # the step did not move it: another holds the lock
            time.sleep(pause)
        before = checkpoint.position


class IntegrityKeeper:
    def __init__(self, ledger: Ledger, *, interval: float = 0.1,
                 max_age: float | None = None, idle_interval: float = 1.0,
                 catch_up: CatchUp | None = None, catch_up_from: int = CATCH_UP_FROM) -> None:
        self.ledger = ledger
        self.catch_up = catch_up
        self.catch_up_from = catch_up_from
        self.child: subprocess.Popen[bytes] | None = None
        self._child_failed_at: float | None = None
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
        child, self.child = self.child, None
        if child is not None and child.poll() is None:
            child.terminate()  # its step's transaction rolls back; the checkpoint stays
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._latest = None

    def step(self, *, limit: int | None = None) -> bool:
        """One bounded extension (`limit`: see `Ledger.integrity`); True while the
        checkpoint is still behind the head."""
        began = time.monotonic()
        watch = self.watch
        # Read before the step: a commit notified after this makes the answer old.
        generation = watch.generation if watch is not None and watch.listening else None
        answer = self.ledger.integrity(limit=limit)
        self._latest = (began, answer, generation)
        return answer.checkpoint.verified and answer.checkpoint.position < answer.head_position

    def behind(self) -> int:
        """Links between the last step's checkpoint and head (0 if broken or none yet)."""
        latest = self._latest
        if latest is None or not latest[1].checkpoint.verified:
            return 0
        return latest[1].head_position - latest[1].checkpoint.position

    def _catching_up(self) -> bool:
        """Whether a child is catching up now; starts one where the checkpoint is
        `catch_up_from` links behind (and none failed in the last `CATCH_UP_PAUSE` s)."""
        child = self.child
        if child is not None:
            if child.poll() is None:
                return True
            self.child = None
            if child.returncode != 0:
                self._child_failed_at = time.monotonic()
                log.error("integrity_catch_up_failed", returncode=child.returncode)
            return False
        if self.catch_up is not None and self._latest is None:
            self.step(limit=0)  # how far behind, before any hashing here
        failed = self._child_failed_at
        if (self.catch_up is None or self.behind() < self.catch_up_from
                or (failed is not None and time.monotonic() - failed < CATCH_UP_PAUSE)):
            return False
        try:
            self.child = self.catch_up()
        except OSError as exc:  # no process to be had: the thread catches up as before
            self._child_failed_at = time.monotonic()
            log.error("integrity_catch_up_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        log.info("integrity_catching_up", behind=self.behind(), pid=self.child.pid)
        return True

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
                    if self._catching_up():  # reads alone: the child hashes
                        self.step(limit=0)
                        more, behind = True, False
                    else:
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


def main() -> None:
    """`python -m ledger.keeper`: catch the checkpoint up with the head of the database
    of the environment's settings (started by a server's keeper), then exit."""
    from ledger.bootstrap import build_ledger

    parent = os.getppid()
    if hasattr(os, "nice"):
        os.nice(10)  # the server's own work first: this uses what CPU it leaves
    settings = Settings()
    # A step holds the checkpoint's lock; on SQLite that is the one write lock, which the
    # server's commands wait for: there steps stay as short as the thread's.
    sqlite = database_kind(settings.database_url) == "sqlite"
    ledger = build_ledger(settings)
    try:
        answer = catch_up(ledger, parent=parent, step=LINKS_PER_CALL if sqlite else CATCH_UP_STEP)
        log.info("integrity_caught_up", position=answer.checkpoint.position,
                 verified=answer.checkpoint.verified)
    finally:
        ledger.close()


if __name__ == "__main__":
    main()
