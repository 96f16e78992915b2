"""The dashboard's live cue: the positions the read models reached, as Server-Sent Events.

It follows the same `HeadWatch` as `GET /events/stream` (api/feed.py) and, once the
log moved, waits until the read models caught up, so a page that refreshes on the
cue shows the new figures. It sends positions only (any signed-in role may see
that the ledger moved), one frame per move however many events it took.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.feed import KEEP_ALIVE_SECONDS, RETRY_MILLISECONDS, HeadWatch, frame
from projections.interface import ReadModels

CATCH_UP_SECONDS = 5.0


async def positions(
    read: ReadModels, watch: HeadWatch, *, after: int, disconnected: Callable[[], Any],
) -> AsyncIterator[bytes]:
    position = after
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    while not watch.stopping and not await disconnected():
        if not await watch.wait_beyond(position, KEEP_ALIVE_SECONDS):
            if not watch.stopping:
                yield b": keep-alive\n\n"
            continue
        target = watch.head
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CATCH_UP_SECONDS
        reached = await run_in_threadpool(read.position)
        while reached < target and loop.time() < deadline:
            await asyncio.sleep(0.05)
            reached = await run_in_threadpool(read.position)
        if reached > position:
            position = reached
            yield frame(data=json.dumps({"position": reached}), event_id=reached)
        else:  # the read models lag: look again later rather than spin
            await asyncio.sleep(0.5)
