"""Every command of the ledger as data: one frozen, keyword-only dataclass each.

A command checks and normalises its own primitive input when it is built (I1:
amounts positive EUR with two decimals, text bounded, vocabularies closed), so
a command that exists is well-formed; its handler (ledger/commands/budget.py,
applications.py, grants.py)
decide it against the aggregates. Its idempotency fingerprint is derived from
every field (`fingerprint`), so no field can be left out of it.
"""

from ledger.commands.model.applications import (
    AmendApplication,
    AmendAward,
    ApproveApplication,
    Measure,
    NewApplication,
    RejectApplication,
    SubmitApplication,
    SubmitApplications,
    WithdrawApplication,
    measures_of,
)
from ledger.commands.model.base import Command
from ledger.commands.model.budget import (
    AmendBudget,
    AppropriateBudget,
    CloseFiscalYear,
    CreateProgramme,
    NewRecipient,
    OpenPhase,
    RecordDirectExpenditure,
    RegisterRecipients,
)
from ledger.commands.model.grants import (
    CancelDrawdown,
    CloseApplication,
    PayDrawdown,
    RecordRepayment,
    RequestDrawdown,
    RevokeApplication,
    SubmitProofOfUse,
)

__all__ = [
    "AmendApplication",
    "AmendAward",
    "AmendBudget",
    "AppropriateBudget",
    "ApproveApplication",
    "CancelDrawdown",
    "CloseApplication",
    "CloseFiscalYear",
    "Command",
    "CreateProgramme",
    "Measure",
    "NewApplication",
    "NewRecipient",
    "OpenPhase",
    "PayDrawdown",
    "RecordDirectExpenditure",
    "RecordRepayment",
    "RegisterRecipients",
    "RejectApplication",
    "RequestDrawdown",
    "RevokeApplication",
    "SubmitApplication",
    "SubmitApplications",
    "SubmitProofOfUse",
    "WithdrawApplication",
    "measures_of",
]
