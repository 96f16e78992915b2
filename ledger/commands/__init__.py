"""Commands as data (`model`), one handler each (`budget`, `applications`, `grants`).

Importing this package registers every handler (`context.HANDLERS`).
"""

from ledger.commands import applications, budget, grants  # noqa: F401  # registers handlers
from ledger.commands.context import HANDLERS, Context, Decision, handler_for
from ledger.commands.model import *  # noqa: F403  # the commands are this package's API
from ledger.commands.model import Command

__all__ = ["HANDLERS", "Command", "Context", "Decision", "handler_for"]
