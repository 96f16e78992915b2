"""Many commands decided by their own handlers against aggregates held in memory, then
saved in one transaction (the recorder's bulk path): how the demo writes ~1,800 commands.

The same decisions as `Ledger.execute` makes (each command's handler, its business-date
checks), without the writer's transaction per group of concurrent callers: a loader has
one caller and thousands of commands. The aggregates are loaded once from the ledger;
the save compares their versions, so a writer beside the load makes it fail, whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ledger import Actor, Ledger
from ledger.commands import Command, handler_for
from ledger.domain.application import Application as Grant
from ledger.domain.base import LedgerAggregate
from ledger.domain.dates import business_dates_in, check_events_in_window, check_in_window
from ledger.domain.dates import today as local_today
from ledger.domain.phase import Phase
from ledger.domain.programme import Programme
from ledger.domain.recipient import Recipient
from ledger.errors import NotFound

T = TypeVar("T")


class InMemory:
    """The handlers' `Context` over aggregates kept in memory between decisions."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.today = local_today()
        self._window = ledger.business_dates()  # the window `execute` checks (I13)
        self._working: dict[UUID, LedgerAggregate] = {}

    def decide(self, actor: Actor, command: Command) -> dict[str, str]:
        """Decides `command` as `Ledger.execute` would; returns the ids it answers with.
        Raises the domain's LedgerError (the run stops: nothing has been saved)."""
        for field_name, business_date in business_dates_in(asdict(command)):
            check_in_window(business_date, *self._window, what=field_name)
        decision = handler_for(command)(command, actor, self)
        check_events_in_window(decision.aggregates, *self._window)
        for aggregate in decision.aggregates:
            self._working[aggregate.id] = aggregate
        return decision.ids

    def save(self) -> int:
        """Every decision in one transaction; returns the number of events written."""
        return len(self._ledger.save(*self._working.values()))

    # -- the Context protocol ---------------------------------------------------------

    def programme(self, programme_id: str) -> Programme:
        return self._get(Programme, Programme.id_for(programme_id), f"programme {programme_id}")

    def phase(self, phase_id: str) -> Phase:
        return self._get(Phase, Phase.id_for(phase_id), f"phase {phase_id}")

    def recipient(self, recipient_id: str) -> Recipient:
        return self._get(Recipient, Recipient.id_for(recipient_id), f"recipient {recipient_id}")

    def application(self, application_id: str) -> Grant:
        try:
            aggregate_id = UUID(application_id)
        except ValueError:
            raise NotFound(f"unknown application {application_id}") from None
        return self._get(Grant, aggregate_id, f"application {application_id}")

    def preload(self, aggregate_ids: Iterable[UUID]) -> None:
        """Loads one at a time, when asked (the hint is for stores that fetch many)."""

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self._working or aggregate_id in self._ledger.repository

    def _get(self, cls: type[T], aggregate_id: UUID, what: str) -> T:
        aggregate: Any = self._working.get(aggregate_id)
        if aggregate is None:
            try:
                aggregate = self._ledger.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise NotFound(f"unknown {what}") from None
            self._working[aggregate_id] = aggregate
        if not isinstance(aggregate, cls):
            raise NotFound(f"unknown {what}")
        return aggregate


__all__ = ["InMemory"]
