"""Rebuild without downtime, and verify the live tables against a fresh replay.

A rebuild writes a new version (`v{n+1}`) of a projection's tables from the
start of the log while queries keep answering from the live version; the batch
that finds nothing more to read also flips `proj_versions` in its transaction,
so readers switch atomically. The version before stays (a reader may still be
inside it); older ones are dropped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from projections import parallel
from projections.base import Key, Projection, Table
from projections.db import Tx
from projections.runner import Progress, Runner, create_tables, drop_tables, tracking

MAX_SHOWN = 20
CHUNK = 5000  # rows of each version in memory at once, whatever the table's size


def rebuild(
    runner: Runner, names: Sequence[str] | None = None, *, progress: Progress | None = None
) -> tuple[int, float]:
    """Replay `names` (default all) into new versions and switch; returns (events, seconds)."""
    names = list(names or runner.projections)
    unknown = [n for n in names if n not in runner.projections]
    if unknown:
        raise ValueError(f"unknown projection {', '.join(unknown)}; "
                         f"known: {', '.join(runner.projections)}")
    runner.ensure_schema()
    with runner.db.schema() as tx:
        live = runner.live_tags(tx)
        new = {name: f"v{int(live[name].lstrip('v')) + 1}" for name in names}
        for name, tag in new.items():
            drop_tables(tx, runner.projections[name], tag)  # leftovers of a crashed rebuild
            create_tables(tx, runner.projections[name], tag, indexes=False)
    head = runner.ledger.chained_recorder.chain_head()[0]
    started = time.perf_counter()
    indexed = False
    bulk = parallel.bulk_in_processes(runner, new, head=head, progress=progress)
    # The new versions start at the beginning, or where the processes left them.
    total = bulk or 0
    while True:
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
    seconds = time.perf_counter() - started
    with runner.db.schema() as tx:
        for name in names:
            keep = {new[name], live[name]}
            for (tag,) in tx.execute(
                "SELECT tag FROM proj_tracking WHERE projection = ?", (name,)
            ):
                if str(tag).startswith("v") and tag not in keep:
                    drop_tables(tx, runner.projections[name], str(tag))
    return total, seconds


def index(runner: Runner, tags: dict[str, str]) -> None:
    """The secondary indexes of `tags` (projection → tag) after their bulk load, and on
    PostgreSQL fresh statistics (plans need them at once)."""
    with runner.db.schema() as tx:
        for name, tag in tags.items():
            for table in runner.projections[name].tables:
                table.create_indexes(tx, tag)
                if tx.dialect == "postgresql":
                    tx.execute(f"ANALYZE {table.name(tag)}")


@dataclass
class Difference:
    projection: str
    table: str
    problems: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, problem: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_SHOWN:
            self.problems.append(problem)


@dataclass
class VerifyReport:
    positions: dict[str, int]
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return not self.differences


# (what, done, total): "replay grants" in positions, "compare grants" in rows.
VerifyProgress = Callable[[str, int, int], None]


def verify(runner: Runner, *, attempts: int = 5, chunk: int = CHUNK,
           progress: VerifyProgress | None = None) -> VerifyReport:
    """Compare every live table row by row with a fresh replay up to the same position.

    On PostgreSQL, from `parallel.PARALLEL_FROM` events, the fresh replays run each in a
    process of their own first (projections/parallel.py), as a rebuild's do."""
    runner.ensure_schema()
    runner.catch_up()
    report = VerifyReport({}, [])
    fresh = {name: f"t{uuid.uuid4().hex[:10]}" for name in runner.projections}
    with runner.db.schema() as tx:
        for name, tag in fresh.items():
            create_tables(tx, runner.projections[name], tag, indexes=False)
    try:
        targets = runner.positions()

        def each(positions: dict[str, int]) -> None:
            if progress is not None:
                for name, position in positions.items():
                    progress(f"replay {name}", position, targets[name])

        parallel.bulk_in_processes(runner, fresh, head=max(targets.values(), default=0),
                                   upto=targets, each=each, indexed=False)
        for name, projection in runner.projections.items():
            _verify_one(runner, name, projection, fresh[name], report, attempts=attempts,
                        chunk=chunk, progress=progress)
    finally:
        with runner.db.schema() as tx:
            for name, tag in fresh.items():
                drop_tables(tx, runner.projections[name], tag)
    return report


def _verify_one(runner: Runner, name: str, projection: Projection, tag: str,
                report: VerifyReport, *, attempts: int, chunk: int,
                progress: VerifyProgress | None) -> None:
    """Replay `name` into `tag` up to the live version's position (from where it is), then
    compare; again while the live runner moves on, at most `attempts` times."""
    for _ in range(attempts):
        target = runner.positions()[name]
        with runner.db.read() as tx:
            done = tracking(tx, name, tag)
        while count := runner.run_batch({name: tag}, upto=target):
            done += count
            if progress is not None:
                progress(f"replay {name}", done, target)
        with runner.db.read() as tx:
            live_tag = runner.live_tags(tx)[name]
            if tracking(tx, name, live_tag) != target:
                continue  # the live runner moved on; replay the rest and compare again
            report.positions[name] = target
            total = sum(table.count(tx, live_tag) for table in projection.tables)
            compared = 0
            for table in projection.tables:
                diff = Difference(name, table.base)
                for rows in _compare(tx, table, live_tag=live_tag, fresh_tag=tag,
                                     chunk=chunk, diff=diff):
                    compared += rows
                    if progress is not None:
                        progress(f"compare {name}", compared, total)
                if diff.count:
                    report.differences.append(diff)
            return
    raise RuntimeError(f"projection {name} kept moving; verify again later")


def _compare(tx: Tx, table: Table, *, live_tag: str, fresh_tag: str, chunk: int,
             diff: Difference) -> Iterator[int]:
    """Both versions of `table` a chunk at a time, in key order; yields rows compared.

    Each round covers the keys in (bound, upto]: `upto` ends the live chunk, or the
    fresh one when that fills up first (its rows may all be missing from the live
    table). The database decides what lies in the range, so no key is compared in
    Python's order, which need not be the database's (collations).
    """
    at = [table.column_names.index(k) for k in table.key]
    bound: Key | None = None
    while True:
        live = table.page(tx, live_tag, after=bound, upto=None, limit=chunk)
        upto = _key(live[-1], at) if len(live) == chunk else None
        fresh = table.page(tx, fresh_tag, after=bound, upto=upto, limit=chunk)
        if len(fresh) == chunk and (upto is None or _key(fresh[-1], at) != upto):
            upto = _key(fresh[-1], at)
            live = table.page(tx, live_tag, after=bound, upto=upto, limit=chunk)
        replayed = {_key(row, at): row for row in fresh}
        for row in live:
            key = _key(row, at)
            other = replayed.pop(key, None)
            if other != row:
                what = "not in a fresh replay" if other is None else f"replay has {other!r}"
                diff.add(f"row {key!r}: live {row!r}, {what}")
        for key in replayed:
            diff.add(f"row {key!r}: missing from the live table")
        yield len(live)
        if upto is None:
            return
        bound = upto


def _key(row: tuple[object, ...], at: list[int]) -> Key:
    return tuple(row[i] for i in at)
