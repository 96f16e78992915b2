"""A rebuild's bulk on several cores: each projection replays the log in a process of its own.

The projections of a rebuild are independent until the switch, so on PostgreSQL each
replays the log into its new tables in a child process (its own connection and
interpreter), then indexes and analyses them there — a projection done early
is indexed while a slower one still replays; the parent then catches up the last events
of all of them together and switches in one transaction as before
(projections/rebuild.py). SQLite has one writer at a time, and memory:// one process, so
they replay in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from multiprocessing.synchronize import Event

from projections.runner import Runner, tracking

PARALLEL_FROM = 50_000  # events: below this, starting processes costs more than it gains

_halt: Event | None = None  # in a child: set when the parent asks it to stop


class Stopped(RuntimeError):
    """The replay was asked to stop (`bulk_in_processes`' `stop`) before it was done."""


def _child(halt: Event, nice: int) -> None:  # each child's initializer (Events inherit)
    global _halt  # noqa: PLW0603  # the one per-process setting its tasks look at
    _halt = halt
    if nice and hasattr(os, "nice"):
        os.nice(nice)


def bulk_in_processes(runner: Runner, new: dict[str, str], *, head: int,
                      upto: dict[str, int] | None = None,
                      progress: Callable[[dict[str, int]], None] | None = None,
                      indexed: bool = True, alone: bool = False,
                      stop: threading.Event | None = None, nice: int = 0) -> int | None:
    """Replays each of `new` (projection → tag) in its own process, up to about the head
    or, for a name in `upto`, up to that position; returns the events read (the most of
    any), or None where it does not apply. `progress` gets every projection's position
    twice a second; `indexed`: each process then builds its tables' secondary indexes (a
    rebuild's new version; `verify` compares by the keys); `alone`: a single projection
    too (else it replays in the caller's process, which saves starting one).

    `stop` set: the processes stop after their current batch (or index build) and this
    raises Stopped; their tables stay as far as they got. `nice`: added to the processes'
    niceness (a server's rebuild: its requests first; their PostgreSQL backends keep
    theirs)."""
    if runner.db.dialect != "postgresql" or len(new) < (1 if alone else 2) or (
            head < PARALLEL_FROM):
        return None
    context = multiprocessing.get_context("spawn")  # no threads or pools inherited
    halt = context.Event()
    with ProcessPoolExecutor(max_workers=len(new), mp_context=context,
                             initializer=_child, initargs=(halt, nice)) as pool:
        futures = [pool.submit(replay_one, runner.db.url, name, tag, runner.batch_size,
                               upto=(upto or {}).get(name), indexed=indexed)
                   for name, tag in new.items()]
        while True:
            if stop is not None and stop.is_set():
                halt.set()
                wait(futures)
                raise Stopped("the replay was stopped")
            done, pending = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress(_positions(runner, new))
            if not pending or any(f.exception() for f in done):
                break
        return max(f.result() for f in futures)  # raises a child's error here


def _positions(runner: Runner, new: dict[str, str]) -> dict[str, int]:
    with runner.db.read() as tx:
        return {name: tracking(tx, name, tag) for name, tag in new.items()}


def replay_one(url: str, name: str, tag: str, batch_size: int, *, upto: int | None = None,
               indexed: bool = True) -> int:
    """In a child process: replay projection `name` into `tag` until near the head (or up
    to `upto`), then index its tables unless not `indexed`."""
    from ledger import Ledger, Settings
    from ledger.heap import settle_heap
    from ledger.logging import configure_logging
    from projections.behind import WriteBehind, appended_tables
    from projections.db import Database
    from projections.read_models import all_projections
    from projections.rebuild import index

    # The parent made every table; two children creating them "if not exists" at once
    # race in PostgreSQL's catalog ("tuple concurrently updated").
    settings = Settings(database_url=url)
    configure_logging(settings.log_format)
    ledger = Ledger(env={**settings.eventsourcing_env(), "CREATE_TABLE": "n"})
    db = Database(url)
    settle_heap()  # a sixth of the replay was full collections over the imported modules
    try:
        projection = next(p for p in all_projections() if p.name == name)
        runner = Runner(db, ledger, [projection], batch_size=batch_size)
        # The rows it only appends are copied on a second connection while the next batch
        # is read and computed (projections/behind.py); all are in before it indexes.
        behind = WriteBehind(url, appended_tables(projection, tag))
        try:
            runner.writing = behind.deferring
            total = 0
            while True:
                if _halt is not None and _halt.is_set():
                    raise Stopped("the replay was stopped")
                count = runner.run_batch({name: tag}, upto=upto)
                behind.send()  # (a batch that raised sends nothing: the replay fails)
                total += count
                if count < batch_size:
                    break
            behind.flush()
        finally:
            behind.close()
        if _halt is not None and _halt.is_set():
            raise Stopped("the replay was stopped")
        if indexed:
            # Indexed here, while a slower projection's process may still be replaying
            # (the parent then catches up the tail, into indexed tables, and switches).
            index(runner, {name: tag})
        return total
    finally:
        db.close()
        ledger.close()


__all__ = ["PARALLEL_FROM", "Stopped", "bulk_in_processes", "replay_one"]
