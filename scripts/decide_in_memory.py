"""Many commands decided by their own handlers against aggregates held in memory, then
saved in one transaction (the recorder's bulk path): how the demo writes ~1,800 commands.

The same decisions as `Ledger.execute` makes (each command's handler, its business-date
checks), without the writer's transaction per group of concurrent callers: a loader has
one caller and thousands of commands. The aggregates are loaded once from the ledger;
the save compares their versions, so a writer beside the load makes it fail, whole.
"""

from __future__ import annotations

from uuid import UUID

from ledger import Actor, Ledger
from ledger.commands import Command, Context, handler_for
from ledger.domain.base import LedgerAggregate
from ledger.domain.dates import business_dates_in, check_events_in_window, check_in_window
from ledger.domain.dates import today as local_today


class InMemory(Context):
    """The handlers' `Context` over aggregates kept in memory between decisions."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.today = local_today()
        self._window = ledger.business_dates()  # the window `execute` checks (I13)
        self._working: dict[UUID, LedgerAggregate] = {}

    def decide(self, actor: Actor, command: Command) -> dict[str, str]:
        """Decides `command` as `Ledger.execute` would; returns the ids it answers with.
        Raises the domain's LedgerError (the run stops: nothing has been saved)."""
        for field_name, business_date in business_dates_in(command):
            check_in_window(business_date, *self._window, what=field_name)
        decision = handler_for(command)(command, actor, self)
        check_events_in_window(decision.aggregates, *self._window)
        for aggregate in decision.aggregates:
            self._working[aggregate.id] = aggregate
        return decision.ids

    def save(self) -> int:
        """Every decision in one transaction; returns the number of events written."""
        return len(self._ledger.save(*self._working.values()))

    # -- the Context --------------------------------------------------------------------

    def find(self, aggregate_id: UUID) -> LedgerAggregate | None:
        aggregate = self._working.get(aggregate_id)
        if aggregate is None:
            aggregate = self._ledger.get_or_none(aggregate_id)
            if aggregate is not None:
                self._working[aggregate_id] = aggregate
        return aggregate


__all__ = ["InMemory"]
