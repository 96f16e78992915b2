"""`min_position` waits on the event loop, not in a worker thread (issue 9, finding 6).

A request that asks to read its own write (`?min_position=n`) may wait up to 5 s
for the projections (SPEC §5). A blocking wait held one of the threadpool's 40
threads per waiter: 48 requests with an unreachable position took unrelated reads
from 6 ms to 2.7 s. Here a waiter sleeps on the event loop; the projections'
position is read for all waiters at once, at most once per `step`, and only one
thread hop is in flight for it. At most `max_waiters` requests wait per process;
the next is answered 503 `projection_lagging` at once rather than queued.
"""

from __future__ import annotations

import asyncio
import time

from starlette.concurrency import run_in_threadpool

from api.errors import ProjectionLagging
from projections.interface import ReadModels

MAX_WAITERS = 32
STEP_SECONDS = 0.02


class PositionWaiters:
    def __init__(
        self, read_models: ReadModels, *, max_waiters: int = MAX_WAITERS,
        step: float = STEP_SECONDS,
    ) -> None:
        self.read_models = read_models
        self.max_waiters = max_waiters
        self._step = step
        self.waiting = 0
        self._position = -1
        self._read_at = 0.0
        self._reading = asyncio.Lock()

    async def wait_for(self, position: int, timeout: float) -> bool:
        """True once every projection reached `position`; False after `timeout` s.

        Raises ProjectionLagging at once when `max_waiters` requests already wait.
        """
        if self.waiting >= self.max_waiters:
            raise ProjectionLagging(
                f"{self.waiting} requests already wait for the read models; try again shortly")
        self.waiting += 1
        try:
            deadline = time.monotonic() + timeout
            # One check in the threadpool: pokes the runner (or catches up without one).
            if await run_in_threadpool(self.read_models.wait_for, position, 0.0):
                return True
            while time.monotonic() < deadline:
                await asyncio.sleep(self._step)
                if await self._shared_position() >= position:
                    # Again through wait_for: it refreshes the kept answers, so none
                    # older than `position` is served after this.
                    return await run_in_threadpool(self.read_models.wait_for, position, 0.0)
            return False
        finally:
            self.waiting -= 1

    async def _shared_position(self) -> int:
        async with self._reading:
            if time.monotonic() - self._read_at >= self._step:
                self._position = await run_in_threadpool(self.read_models.position)
                self._read_at = time.monotonic()
            return self._position
