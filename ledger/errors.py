"""Domain errors: one base class, each refusal with the stable code of SPEC §4.

Every error is raised before anything is written. An error carries a stable
`code` and a human `detail`, never a transport status: the API maps codes to
HTTP statuses in one place (api/errors.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class LedgerError(Exception):
    """Base of every refusal. `code` is stable; `detail` is for humans.

    A refusal of a command of many rows (`SubmitApplications`) holds every refused row in
    `rows`, as (the row's index from 0, its refusal), so a caller can name each row."""

    code: ClassVar[str] = "ledger_error"
    title: ClassVar[str] = "Refused by the ledger"

    def __init__(self, detail: str, *, rows: Sequence[tuple[int, LedgerError]] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.rows = tuple(rows)


class ValidationFailed(LedgerError):
    """I1: an amount is not positive EUR with two decimals, a date not ISO, a field wrong."""

    code = "validation"
    title = "Invalid input"


class BudgetExceeded(LedgerError):
    """I2/I3: the year's budget or the phase's envelope would be overspent."""

    code = "budget_exceeded"
    title = "Budget exceeded"


class DuplicateApplication(LedgerError):
    """I4: the recipient already has an open application in the phase."""

    code = "duplicate_application"
    title = "Duplicate application"


class NotEligible(LedgerError):
    """I5: the recipient's kind is not eligible, or the phase is not open on the date."""

    code = "not_eligible"
    title = "Not eligible"


class OverDrawdown(LedgerError):
    """I6: requested plus paid drawdowns would exceed the award."""

    code = "over_drawdown"
    title = "Drawdown exceeds award"


class OverRepayment(LedgerError):
    """I7: a repayment larger than the net amount paid."""

    code = "over_repayment"
    title = "Repayment exceeds net paid"


class BelowPaid(LedgerError):
    """I7: an award reduced below what was paid or is requested."""

    code = "below_paid"
    title = "Award below paid"


class InvalidState(LedgerError):
    """I8: the transition is not allowed from the current state."""

    code = "invalid_state"
    title = "Invalid state"


class FourEyes(LedgerError):
    """I9: the same person may not record and approve, or request and pay."""

    code = "four_eyes"
    title = "Four-eyes principle"


class FiscalYearClosed(LedgerError):
    """I10: an effective date in a closed fiscal year, or an award against it."""

    code = "fiscal_year_closed"
    title = "Fiscal year closed"


class NotFound(LedgerError):
    """I11: unknown programme, phase, recipient, application or drawdown."""

    code = "not_found"
    title = "Not found"


class IdempotencyMismatch(LedgerError):
    """I12: an idempotency key reused with a different request."""

    code = "idempotency_mismatch"
    title = "Idempotency key reused"


class DateOrder(LedgerError):
    """I14: a business date before the date it follows (a decision before the
    submission, a payment before its request …)."""

    code = "date_order"
    title = "Dates out of order"


class AlreadyExists(LedgerError):
    """A programme, phase or recipient id that is already taken."""

    code = "already_exists"
    title = "Already exists"


class ConcurrencyConflict(LedgerError):
    """Optimistic-concurrency retries were exhausted; the client may retry."""

    code = "concurrency_conflict"
    title = "Concurrent update, please retry"


class AwardAboveRequest(LedgerError):
    """I15: an approval above the amount applied for, where the phase does not allow it."""

    code = "award_above_request"
    title = "Award above the amount applied for"


class DuplicateReference(LedgerError):
    """I16: a file reference already used in the programme."""

    code = "duplicate_reference"
    title = "File reference already used"


class ProjectionOutdated(LedgerError):
    """The read side's live tables were written by an earlier release and cannot answer
    this query right until the projection is replayed (`ledger replay`)."""

    code = "projection_outdated"
    title = "Projection needs a replay"


def rows_refused(refused: Sequence[tuple[int, LedgerError]], *, of: int) -> LedgerError:
    """One refusal of a command of `of` rows for all its refused rows (index, refusal): the
    first row's code and detail (prefixed `application N: ` when there are several rows),
    every one in `rows`."""
    n, first = refused[0]
    if of == 1:
        return type(first)(first.detail, rows=refused)
    more = len({index for index, _ in refused}) - 1
    also = f" (and {more} more refused application(s))" if more else ""
    return type(first)(f"application {n + 1}: {first.detail}{also}", rows=refused)
