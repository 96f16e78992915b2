"""Commands as data (`model`), one handler each (`budget`, `applications`, `grants`).

Importing this package registers every handler (`context.HANDLERS`).
"""

from ledger.commands import applications, budget, grants, model  # noqa: F401  # registers handlers
from ledger.commands.context import HANDLERS, CommandResult, Context, Decision, handler_for
from ledger.commands.model import *  # noqa: F403  # every command is this package's API too

__all__ = ["HANDLERS", "CommandResult", "Context", "Decision", "handler_for"]
__all__ += model.__all__
