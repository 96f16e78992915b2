"""Rebuild without downtime, and verify the live tables against a fresh replay.

A rebuild writes a new version (`v{n+1}`) of a projection's tables from the
start of the log while queries keep answering from the live version; the batch
that finds nothing more to read also flips `proj_versions` in its transaction,
so readers switch atomically. The version before stays (a reader may still be
inside it); older ones are dropped.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

from ledger.heap import batch_collections
from projections import parallel
from projections.base import Key, Projection, Table
from projections.db import Tx
from projections.leader import lock_for
from projections.runner import Progress, Runner, create_tables, drop_tables, tracking

MAX_SHOWN = 20


class RebuildBusy(RuntimeError):
    """Another rebuild is running on the same store."""


def rebuild(
    runner: Runner, names: Sequence[str] | None = None, *, progress: Progress | None = None,
    stop: threading.Event | None = None, alone: bool = False, nice: int = 0,
) -> tuple[int, float]:
    """Replay `names` (default all) into new versions and switch; returns (events, seconds).

    One rebuild at a time per store (a PostgreSQL advisory lock, a file lock beside a
    SQLite file; else RebuildBusy): two would write the same new version. `stop` set:
    raises parallel.Stopped at the next batch, the live versions untouched and the new
    ones dropped; `alone`: on PostgreSQL a single projection replays in a process of its
    own too (`parallel.bulk_in_processes`; a server's runner: projections/runner.py);
    `nice`: the processes' added niceness."""
    names = list(names or runner.projections)
    unknown = [n for n in names if n not in runner.projections]
    if unknown:
        raise ValueError(f"unknown projection {', '.join(unknown)}; "
                         f"known: {', '.join(runner.projections)}")
    lock = lock_for(runner.db.url, "rebuild")
    if not lock.hold():
        raise RebuildBusy("another rebuild (`ledger replay`, or a server catching up a log "
                          "far ahead of its projections) is running on this database; run "
                          "it again once that one has finished")
    try:
        return _rebuild(runner, names, progress=progress, stop=stop, alone=alone, nice=nice)
    finally:
        lock.release()


def next_version(live: str) -> str:
    """The tag a rebuild writes after the live version `live` ("v3" after "v2")."""
    return f"v{int(live.lstrip('v')) + 1}"


def _rebuild(runner: Runner, names: list[str], *, progress: Progress | None,
             stop: threading.Event | None, alone: bool, nice: int) -> tuple[int, float]:
    runner.ensure_schema()
    with runner.db.schema() as tx:
        live = runner.live_tags(tx)
        new = {name: next_version(live[name]) for name in names}
        for name, tag in new.items():
            drop_tables(tx, runner.projections[name], tag)  # leftovers of a crashed rebuild
            create_tables(tx, runner.projections[name], tag, indexes=False)
    head = runner.ledger.chained_recorder.chain_head()[0]
    started = time.perf_counter()
    indexed = False
    try:
        bulk = parallel.bulk_in_processes(
            runner, new, head=head, alone=alone, stop=stop, nice=nice,
            progress=None if progress is None else (
                lambda positions: progress(min(positions.values()), head)))
        # The new versions start at the beginning, or where the processes left them.
        total = bulk or 0
        with batch_collections():  # (where no process replayed the bulk, this one does)
            while True:
                if stop is not None and stop.is_set():
                    raise parallel.Stopped("the replay was stopped")
                count = runner.run_batch(new, switch=indexed)
                total += count
                if progress is not None:
                    progress(total, head)
                if count < runner.batch_size and not indexed:  # near the head: index, switch
                    if bulk is None:  # (each bulk process indexed its projection's tables)
                        index(runner, new)
                    indexed = True
                elif count == 0 and indexed:
                    break
    except parallel.Stopped:
        with runner.db.schema() as tx:  # (not switched: the batch that switches returns 0)
            for name, tag in new.items():
                drop_tables(tx, runner.projections[name], tag)
        raise
    seconds = time.perf_counter() - started
    for name in names:
        # all but the new version, and the one before it (readers may still be in it)
        _drop_versions(runner, name, "v", keep=(new[name], live[name]))
    return total, seconds


def _drop_versions(runner: Runner, name: str, prefix: str, *,
                   keep: Sequence[str] = ()) -> None:
    """Drops the tables of every version of projection `name` whose tag starts with
    `prefix` ("v" a rebuild's, `SCRATCH` a verify's), except those in `keep`."""
    with runner.db.schema() as tx:
        for (tag,) in tx.execute("SELECT tag FROM proj_tracking WHERE projection = ?",
                                 (name,)):
            if str(tag).startswith(prefix) and tag not in keep:
                drop_tables(tx, runner.projections[name], str(tag))


def index(runner: Runner, tags: dict[str, str]) -> None:
    """The secondary indexes of `tags` (projection → tag) after their bulk load, and on
    PostgreSQL fresh statistics (plans need them at once).

    On PostgreSQL the statements run on `INDEX_CONNECTIONS` connections at once, the
    largest tables first: one index build sorts on one core, and PostgreSQL lets several
    build on the same table (each takes a SHARE lock). Only this rebuild knows the new
    tables' names, so nothing else creates them meanwhile."""
    tables = [(table, tag) for name, tag in tags.items()
              for table in runner.projections[name].tables]
    if runner.db.dialect != "postgresql":
        with runner.db.schema() as tx:
            for table, tag in tables:
                table.create_indexes(tx, tag)
        return
    names = [table.name(tag) for table, tag in tables]
    sizes = {str(name): int(size) for name, size in runner.db.fetch(  # on the search path
        "SELECT n, COALESCE(pg_relation_size(to_regclass(n)), 0) FROM unnest(?::text[]) n",
        (names,))}
    builds = [sql for _, sql in sorted(
        ((sizes.get(table.name(tag), 0), sql) for table, tag in tables
         for sql in table.index_statements(tag)), key=lambda pair: -pair[0])]
    # ANALYZE waits for a build on its table (their locks conflict): after them all.
    for statements in (builds, [f"ANALYZE {name}" for name in names]):
        _at_once(runner, statements)


def _at_once(runner: Runner, statements: list[str]) -> None:
    """`statements` on `INDEX_CONNECTIONS` connections at once. The first error (or an
    interrupt) cancels those not started and those running, on the server too, and is
    raised: a rebuild that fails is never switched to, and the next one starts over."""
    running: dict[int, int] = {}  # thread → its connection's backend
    lock = threading.Lock()

    def run(sql: str) -> None:
        with runner.db.statements() as tx:
            with lock:
                running[threading.get_ident()] = int(
                    tx.execute("SELECT pg_backend_pid()")[0][0])
            try:
                tx.execute(sql)
            finally:
                with lock:
                    running.pop(threading.get_ident(), None)

    pool = ThreadPoolExecutor(max_workers=INDEX_CONNECTIONS, thread_name_prefix="index")
    futures = [pool.submit(run, sql) for sql in statements]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            future.result()  # raises the first error
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        # Under the lock no thread hands its connection back to the pool meanwhile: the
        # cancel reaches a build or an idle backend (which ignores it), never the next
        # statement on that connection, nor the one this cancel itself runs on.
        with lock:
            backends = list(running.values())
            if backends:
                runner.db.fetch("SELECT pg_cancel_backend(b) FROM unnest(?::int[]) b "
                                "WHERE b <> pg_backend_pid()", (backends,))
        raise
    finally:
        pool.shutdown(wait=True)


# Index builds at once; each sorts on a core of the database server (and two are no
# slower than one on one core: one waits on its writes while the other sorts).
INDEX_CONNECTIONS = max(2, min(4, os.cpu_count() or 1))


@dataclass
class Difference:
    projection: str
    table: str
    problems: list[str] = field(default_factory=list)
    count: int = 0


@dataclass
class VerifyReport:
    positions: dict[str, int]
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return not self.differences


# (what, done, total): "replay grants" in positions, "compare grants" in tables.
VerifyProgress = Callable[[str, int, int], None]


class VerifyBusy(RuntimeError):
    """Another `verify` is running on the same store."""


SCRATCH = "t"  # the tags of a verify's fresh replay start with it (versions with "v")


@contextmanager
def exclusive_verify(runner: Runner) -> Iterator[None]:
    """One verify at a time per store (a PostgreSQL advisory lock, a file lock beside a
    SQLite file), so one verify may drop the scratch tables another one left behind."""
    lock = lock_for(runner.db.url, "verify")
    if not lock.hold():
        raise VerifyBusy("another verify is running on this database (or its lock cannot "
                         "be taken); run it again once that one has finished")
    try:
        yield
    finally:
        lock.release()


def verify(runner: Runner, *, attempts: int = 5, progress: VerifyProgress | None = None,
           locked: bool = False) -> VerifyReport:
    """Compare every live table row by row with a fresh replay up to the same position.

    On PostgreSQL, from `parallel.PARALLEL_FROM` events, the fresh replays run each in a
    process of their own first (projections/parallel.py), as a rebuild's do. Raises
    VerifyBusy while another verify runs, unless the caller holds `exclusive_verify`
    already (`locked`)."""
    if not locked:
        with exclusive_verify(runner):
            return verify(runner, attempts=attempts, progress=progress, locked=True)
    runner.ensure_schema()
    runner.catch_up()
    _drop_scratch(runner)
    report = VerifyReport({}, [])
    fresh = {name: f"{SCRATCH}{uuid.uuid4().hex[:10]}" for name in runner.projections}
    with runner.db.schema() as tx:
        for name, tag in fresh.items():
            # Scratch, dropped at the end: unlogged, so the replay writes no WAL (on the
            # 1M log ~2 GB that a replica would otherwise have to apply) and a crash
            # leaves them empty.
            create_tables(tx, runner.projections[name], tag, indexes=False, unlogged=True)
    try:
        targets = runner.positions()

        def each(positions: dict[str, int]) -> None:
            if progress is not None:
                for name, position in positions.items():
                    progress(f"replay {name}", position, targets[name])

        parallel.bulk_in_processes(runner, fresh, head=max(targets.values(), default=0),
                                   upto=targets, progress=each, indexed=False)
        for name, projection in runner.projections.items():
            _verify_one(runner, name, projection, fresh[name], report, attempts=attempts,
                        progress=progress)
    finally:
        with runner.db.schema() as tx:
            for name, tag in fresh.items():
                drop_tables(tx, runner.projections[name], tag)
    return report


def _drop_scratch(runner: Runner) -> None:
    """The scratch tables of a verify that died before it could drop them (killed, or
    the machine went down): ~3 GB at 1M events, never read again. The caller holds
    `exclusive_verify`, so no other verify is using them."""
    for name in runner.projections:
        _drop_versions(runner, name, SCRATCH)


def _verify_one(runner: Runner, name: str, projection: Projection, tag: str,
                report: VerifyReport, *, attempts: int,
                progress: VerifyProgress | None) -> None:
    """Replay `name` into `tag` up to the live version's position (from where it is), then
    compare; again while the live runner moves on, at most `attempts` times."""
    for _ in range(attempts):
        target = runner.positions()[name]
        with runner.db.read() as tx:
            done = tracking(tx, name, tag)
        with batch_collections():
            while count := runner.run_batch({name: tag}, upto=target):
                done += count
                if progress is not None:
                    progress(f"replay {name}", done, target)
        with runner.db.read() as tx:
            live_tag = runner.live_tags(tx)[name]
            if tracking(tx, name, live_tag) != target:
                continue  # the live runner moved on; replay the rest and compare again
            report.positions[name] = target
            # Progress in tables: counting their rows first scanned every table once more.
            for compared, table in enumerate(projection.tables, start=1):
                diff = Difference(name, table.base)
                _compare(tx, table, live_tag=live_tag, fresh_tag=tag, diff=diff)
                if progress is not None:
                    progress(f"compare {name}", compared, len(projection.tables))
                if diff.count:
                    report.differences.append(diff)
            return
    raise RuntimeError(f"projection {name} kept moving; verify again later")


def _compare(tx: Tx, table: Table, *, live_tag: str, fresh_tag: str,
             diff: Difference) -> None:
    """The rows in which the two versions of `table` differ, found by the database: a full
    join of both on the key, of which only the differing rows come back — how many, and
    the first MAX_SHOWN in key order (memory bounded by that, whatever the tables' size).
    On PostgreSQL the join merges both primary keys in order, in C: 5.5 s for the 1M
    log's entity history, where fetching both versions 5,000 rows at a time and comparing
    them in Python took 29 s for the grants projection's tables (docs/projections.md)."""
    live, fresh = table.name(live_tag), table.name(fresh_tag)
    columns = table.column_names
    first = table.key[0]  # NOT NULL in both: NULL means no such row on that side
    join = " AND ".join(f"l.{k} = f.{k}" for k in table.key)
    differs = " OR ".join([f"l.{first} IS NULL", f"f.{first} IS NULL",
                           *(f"l.{c} IS DISTINCT FROM f.{c}" for c in columns
                             if c not in table.key)])
    rows = f"FROM {live} l FULL JOIN {fresh} f ON {join} WHERE {differs}"
    if tx.dialect == "postgresql":
        # A merge along both primary keys (in order already), not a hash join whose
        # batches of a million-row table spill to disk.
        tx.execute("SET LOCAL enable_hashjoin = off")
    diff.count = int(tx.execute(f"SELECT COUNT(*) {rows}")[0][0])
    if not diff.count:
        return
    order = ", ".join(f"COALESCE(l.{k}, f.{k})" for k in table.key)
    both = ", ".join([*(f"l.{c}" for c in columns), *(f"f.{c}" for c in columns)])
    at = [columns.index(k) for k in table.key]
    for row in tx.execute(f"SELECT {both} {rows} ORDER BY {order} LIMIT {MAX_SHOWN}"):
        mine, other = tuple(row[:len(columns)]), tuple(row[len(columns):])
        if mine[at[0]] is None:
            diff.problems.append(f"row {_key(other, at)!r}: missing from the live table")
        else:
            what = "not in a fresh replay" if other[at[0]] is None else f"replay has {other!r}"
            diff.problems.append(f"row {_key(mine, at)!r}: live {mine!r}, {what}")


def _key(row: tuple[object, ...], at: list[int]) -> Key:
    return tuple(row[i] for i in at)
