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
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from projections.runner import Progress, Runner, create_tables, drop_tables, tracking

MAX_SHOWN = 20


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
    with runner.db.write() as tx:
        live = runner.live_tags(tx)
        new = {name: f"v{int(live[name].lstrip('v')) + 1}" for name in names}
        for name, tag in new.items():
            drop_tables(tx, runner.projections[name], tag)  # leftovers of a crashed rebuild
            create_tables(tx, runner.projections[name], tag, indexes=False)
    head = runner.ledger.chained_recorder.chain_head()[0]
    started, total = time.perf_counter(), 0
    indexed = False
    while True:
        count = runner.run_batch(new, switch=indexed)
        total += count
        if progress is not None:
            progress(total, head)
        if count < runner.batch_size and not indexed:  # near the head: index, then switch
            with runner.db.write() as tx:
                for name, tag in new.items():
                    for table in runner.projections[name].tables:
                        table.create_indexes(tx, tag)
            indexed = True
        elif count == 0 and indexed:
            break
    seconds = time.perf_counter() - started
    with runner.db.write() as tx:
        for name in names:
            keep = {new[name], live[name]}
            for (tag,) in tx.execute(
                "SELECT tag FROM proj_tracking WHERE projection = ?", (name,)
            ):
                if str(tag).startswith("v") and tag not in keep:
                    drop_tables(tx, runner.projections[name], str(tag))
    return total, seconds


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


def verify(runner: Runner, *, attempts: int = 5) -> VerifyReport:
    """Compare every live table row by row with a fresh replay up to the same position."""
    runner.ensure_schema()
    runner.catch_up()
    report = VerifyReport({}, [])
    for name, projection in runner.projections.items():
        tag = f"t{uuid.uuid4().hex[:10]}"
        with runner.db.write() as tx:
            create_tables(tx, projection, tag, indexes=False)
        try:
            for _ in range(attempts):
                target = runner.positions()[name]
                while runner.run_batch({name: tag}, upto=target):
                    pass
                with runner.db.read() as tx:
                    live_tag = runner.live_tags(tx)[name]
                    if tracking(tx, name, live_tag) != target:
                        continue  # the live runner moved on; replay the rest and compare again
                    report.positions[name] = target
                    for table in projection.tables:
                        diff = _compare(table.rows(tx, live_tag), table.rows(tx, tag),
                                        len(table.key))
                        if diff.count:
                            diff.projection, diff.table = name, table.base
                            report.differences.append(diff)
                    break
            else:
                raise RuntimeError(f"projection {name} kept moving; verify again later")
        finally:
            with runner.db.write() as tx:
                drop_tables(tx, projection, tag)
    return report


def _compare(live: list[tuple[object, ...]], fresh: list[tuple[object, ...]], keys: int
             ) -> Difference:
    diff = Difference("", "")
    by_key = {row[:keys]: row for row in fresh}
    seen = set()
    for row in live:
        key = row[:keys]
        seen.add(key)
        other = by_key.get(key)
        if other != row:
            diff.count += 1
            if len(diff.problems) < MAX_SHOWN:
                what = "not in a fresh replay" if other is None else f"replay has {other!r}"
                diff.problems.append(f"row {key!r}: live {row!r}, {what}")
    for key in by_key.keys() - seen:
        diff.count += 1
        if len(diff.problems) < MAX_SHOWN:
            diff.problems.append(f"row {key!r}: missing from the live table")
    if len(live) != len(fresh) and not diff.count:  # duplicate keys cannot exist, but be sure
        for a, b in zip_longest(live, fresh):
            if a != b:
                diff.count += 1
                diff.problems.append(f"live {a!r} vs replay {b!r}")
                break
    return diff
