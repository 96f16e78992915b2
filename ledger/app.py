"""The Ledger: every command of the write side, on one eventsourcing Application.

`Ledger.execute(actor, command)` is the one way to issue a command. The named
methods (`ledger.approve_application(actor, application_id=…, …)`) are the
same call spelled for scripts and tests: each builds its command from the
keyword arguments and executes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger import commands as c
from ledger.commands import CommandResult
from ledger.core import LedgerCore
from ledger.domain.base import Actor

COMMANDS: dict[str, type[c.Command]] = {
    command.COMMAND: command
    for command in (
        c.CreateProgramme, c.AppropriateBudget, c.AmendBudget, c.RecordDirectExpenditure,
        c.CloseFiscalYear, c.OpenPhase, c.RegisterRecipients, c.SubmitApplication,
        c.SubmitApplications, c.AmendApplication, c.WithdrawApplication,
        c.RejectApplication, c.ApproveApplication, c.AmendAward, c.RequestDrawdown,
        c.PayDrawdown, c.CancelDrawdown, c.RecordRepayment, c.SubmitProofOfUse,
        c.CloseApplication, c.RevokeApplication,
    )
}


def _named(command_type: type[c.Command]) -> Callable[..., CommandResult]:
    def issue(self: LedgerCore, actor: Actor, /, **fields: Any) -> CommandResult:
        return self.execute(actor, command_type(**fields))

    issue.__name__ = command_type.COMMAND
    issue.__doc__ = f"Executes `{command_type.__name__}` built from the keyword arguments."
    return issue


class Ledger(LedgerCore):
    """Build it with `ledger.bootstrap.build_ledger()`; commands are keyword-only."""

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the class does not define: the named commands.
        command_type = COMMANDS.get(name)
        if command_type is None:
            raise AttributeError(name)
        return _named(command_type).__get__(self)
