"""What a handler decides with: the aggregates it loads, and what it answers.

A handler is a function `(command, actor, context) -> Decision`. It loads the
aggregates it needs from the context, calls their methods (which check the
invariants and emit events), and returns the aggregates it changed. It never
saves: the ledger's writer does that, for many decisions in one transaction.
The context is the writer's batch (ledger/writer.py) in the product and a plain
dictionary of aggregates in the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, TypeVar
from uuid import UUID

from ledger.commands.model import Command
from ledger.domain.application import Application as Grant
from ledger.domain.base import Actor, LedgerAggregate
from ledger.domain.phase import Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient


@dataclass
class Decision:
    """The aggregates a command changed (in the order their events happened), the ids
    to answer with, and the aggregate the answer describes (`subject`)."""

    aggregates: list[LedgerAggregate]
    ids: dict[str, str] = field(default_factory=dict)
    subject: LedgerAggregate | None = None


class Context(Protocol):
    """The aggregates as the decision sees them (its batch-mates' changes included)."""

    @property
    def today(self) -> date: ...

    def programme(self, programme_id: str) -> Programme: ...

    def phase(self, phase_id: str) -> Phase: ...

    def recipient(self, recipient_id: str) -> Recipient: ...

    def application(self, application_id: str) -> Grant: ...

    def exists(self, aggregate_id: UUID) -> bool: ...

    def preload(self, aggregate_ids: Iterable[UUID]) -> None:
        """A hint: the decision will ask for these (a store may fetch them in one go)."""


C = TypeVar("C", bound=Command)
Handler = Callable[[Any, Actor, Context], Decision]
HANDLERS: dict[type[Command], Handler] = {}


def handles(command_type: type[C]) -> Callable[
        [Callable[[C, Actor, Context], Decision]], Callable[[C, Actor, Context], Decision]]:
    """Registers the one handler of a command type."""

    def register(
        handler: Callable[[C, Actor, Context], Decision],
    ) -> Callable[[C, Actor, Context], Decision]:
        if command_type in HANDLERS:
            raise RuntimeError(f"{command_type.__name__} has two handlers")
        HANDLERS[command_type] = handler
        return handler

    return register


def handler_for(command: Command) -> Handler:
    try:
        return HANDLERS[type(command)]
    except KeyError:
        raise TypeError(f"no handler for {type(command).__name__}") from None
