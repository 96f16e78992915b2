"""The Ledger: every command of the write side, on one eventsourcing Application."""

from __future__ import annotations

from ledger.commands.applications import ApplicationCommands
from ledger.commands.budget import BudgetCommands
from ledger.commands.grants import GrantCommands


class Ledger(BudgetCommands, ApplicationCommands, GrantCommands):
    """Build it with `ledger.bootstrap.build_ledger()`; commands are keyword-only."""
