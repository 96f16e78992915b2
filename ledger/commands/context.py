"""What a handler decides with: the aggregates it loads, and what it answers.

A handler is a function `(command, actor, context) -> Decision`. It loads the
aggregates it needs from the context, calls their methods (which check the
invariants and emit events), and returns the aggregates it changed. It never
saves: the ledger's writer does that, for many decisions in one transaction.
The context is the writer's batch (ledger/batch.py) in the product, the demo's in-memory loader,
and a plain dictionary of aggregates in the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from ledger.commands.model import Command
from ledger.domain.base import Actor, LedgerAggregate
from ledger.domain.grant import Grant
from ledger.domain.phase import Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient
from ledger.errors import NotFound

A = TypeVar("A", bound=LedgerAggregate)


@dataclass
class Decision:
    """The aggregates a command changed (in the order their events happened), the ids
    to answer with, and the aggregate the answer describes (`subject`)."""

    aggregates: list[LedgerAggregate]
    ids: dict[str, str] = field(default_factory=dict)
    subject: LedgerAggregate | None = None


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the ids it created or touched, the last position written,
    and (unless replayed) a copy of the aggregate the answer describes, as committed."""

    ids: dict[str, str]
    position: int
    replayed: bool = False
    subject: LedgerAggregate | None = None


class Context:
    """The aggregates as the decision sees them (its batch-mates' changes included).

    A context answers `find` (an aggregate by id, or None); the typed getters, their
    refusals (`not_found`) and `exists` are the same for every context. The writer's
    batch (ledger/batch.py), the demo's in-memory loader and the unit tests' dictionary
    are contexts.
    """

    today: date

    def find(self, aggregate_id: UUID) -> LedgerAggregate | None:
        raise NotImplementedError

    def preload(self, aggregate_ids: Iterable[UUID]) -> None:
        """A hint: the decision will ask for these (a store may fetch them in one go)."""

    def exists(self, aggregate_id: UUID) -> bool:
        return self.find(aggregate_id) is not None

    def programme(self, programme_id: str) -> Programme:
        return self._typed(Programme, Programme.id_for(programme_id), f"programme {programme_id}")

    def phase(self, phase_id: str) -> Phase:
        return self._typed(Phase, Phase.id_for(phase_id), f"phase {phase_id}")

    def recipient(self, recipient_id: str) -> Recipient:
        return self._typed(Recipient, Recipient.id_for(recipient_id), f"recipient {recipient_id}")

    def application(self, application_id: str) -> Grant:
        try:
            aggregate_id = UUID(application_id)
        except ValueError:
            raise NotFound(f"unknown application {application_id}") from None
        return self._typed(Grant, aggregate_id, f"application {application_id}")

    def _typed(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        aggregate = self.find(aggregate_id)
        if not isinstance(aggregate, cls):
            raise NotFound(f"unknown {what}")
        return aggregate


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
