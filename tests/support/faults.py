"""Faults you switch on and off: a real projection whose batches fail while it is broken."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ledger import Ledger, Settings
from projections import ReadModelsImpl, build_read_models
from projections.db import Tx
from projections.events import LoggedEvent


class Breakable:
    """Wraps a projection: applying events raises while `broken` is set."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.tables = inner.tables
        self.schema_version: int = inner.schema_version
        self.broken = True
        self.failures = 0

    def apply(self, tx: Tx, tag: str, events: Sequence[LoggedEvent]) -> None:
        if self.broken and events:
            self.failures += 1
            raise RuntimeError(f"{self.name}: corrupt row at position {events[0].position}")
        self.inner.apply(tx, tag, events)


class LogRecorder:
    """Stands in for a structlog logger: keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, event: str, **fields: Any) -> None:
        self.lines.append(("error", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event, fields))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [fields for _, event, fields in self.lines if event == name]


def breaking(projection: str, made: list[Breakable], *, logs: LogRecorder | None = None
             ) -> Callable[[Settings, Ledger], ReadModelsImpl]:
    """A read_models_factory whose `projection` is Breakable (appended to `made`);
    retries come quickly so the tests do not wait long."""

    def factory(settings: Settings, ledger: Ledger) -> ReadModelsImpl:
        read_models = build_read_models(settings, ledger, interval=0.02)
        runner = read_models.runner
        runner.retry_interval = runner.follow_interval = 0.05
        wrapped = Breakable(runner.projections[projection])
        runner.projections[projection] = wrapped  # type: ignore[assignment]
        if logs is not None:
            runner.failures.log = logs
        made.append(wrapped)
        return read_models

    return factory


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """The first truthy answer of `check`, polled; fails after `timeout` (a deadline
    for a stuck test, not a speed requirement)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.05)
