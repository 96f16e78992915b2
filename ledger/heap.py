"""The garbage collector in long-running work: what was built at start is left alone."""

from __future__ import annotations

import gc

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
