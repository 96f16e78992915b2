"""Commands from the event loop: queued for the writer, awaited without a thread.

A command route awaits `run`: the command joins the writer's queue and the
route's coroutine sleeps until the writer answers, so no worker thread is held
per command in flight (only a repeated idempotency key reads the store first,
in the thread pool).
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool

from ledger import CommandResult, Ledger
from ledger.commands import Command
from ledger.domain.base import Actor


async def run(ledger: Ledger, actor: Actor, command: Command) -> CommandResult:
    if actor.idempotency_key is not None:
        prepared = await run_in_threadpool(ledger.prepare, actor, command)
    else:
        prepared = ledger.prepare(actor, command)  # no store read: dates and a fingerprint
    if isinstance(prepared, CommandResult):
        return prepared
    loop = asyncio.get_running_loop()
    answered = loop.create_future()

    def resolve() -> None:
        if not answered.done():
            answered.set_result(None)

    def wake() -> None:  # on the writer's thread
        loop.call_soon_threadsafe(resolve)

    prepared.callbacks.append(wake)
    ledger.writer.submit(prepared)
    await answered
    return prepared.outcome()
