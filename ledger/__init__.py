"""Program Ledger, the write side: an event-sourced, double-entry grant ledger."""

from ledger.app import Ledger
from ledger.bootstrap import build_ledger
from ledger.commands import CommandResult
from ledger.commands.model import NewApplication, NewRecipient
from ledger.domain.base import Actor
from ledger.errors import LedgerError
from ledger.money import Money, Posting
from ledger.settings import Settings

__all__ = [
    "Actor",
    "CommandResult",
    "Ledger",
    "LedgerError",
    "Money",
    "NewApplication",
    "NewRecipient",
    "Posting",
    "Settings",
    "build_ledger",
]
