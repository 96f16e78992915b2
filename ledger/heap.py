"""The garbage collector in long-running work: what was built at start is left alone."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: Young collections a tenth as often as CPython's default (700): a command or a replayed
#: batch makes thousands of short-lived objects, few of them in cycles.
YOUNG_THRESHOLD = 7000


def settle_heap() -> None:
    """Takes every object alive now out of the collector's sight, and collects the young
    generation a tenth as often.

    A started server holds a million-odd long-lived objects (modules, FastAPI's routes and
    models, pydantic's schemas, the ledger). CPython's full collection walked all of them
    every second or so under write load, 70-100 ms each with the GIL held, and found
    nothing: that was the p99 of HTTP commands, and a sixth of a replay's time
    (docs/benchmarks.md, fourth session). `gc.freeze` after start is what CPython's
    documentation suggests for long-running processes; later objects are collected as
    before.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)


@contextlib.contextmanager
def batch_collections() -> Iterator[None]:
    """While a batch job runs in a process that goes on after it (a CLI command's own
    replay, a test): the young generation collected a tenth as often, and with it the
    full collections, which walk every object of the process; the thresholds as they
    were afterwards. Nothing is frozen (`settle_heap` is for processes that only serve).

    A replay of the 1M bench log's grants projection in the CLI's process spent 9.5 s
    of its CPU in collections with CPython's thresholds (200 full ones, 6.9 s), 4.2 s
    with these (docs/benchmarks.md, twenty-second session)."""
    before = gc.get_threshold()
    if before[0]:  # (0: the process turned automatic collection off; left so)
        gc.set_threshold(max(before[0], YOUNG_THRESHOLD), max(before[1], 20),
                         max(before[2], 20))
    try:
        yield
    finally:
        gc.set_threshold(*before)
