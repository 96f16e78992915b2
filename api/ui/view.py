"""What every dashboard page is looked at with: the language, the as-of moment (a recorded
time or a log position) and the business-date cut-off, all carried in the URL so a view
can be bookmarked and sent.

Pages read through `View.read(...)`, which passes `at` and, where the read model's
method accepts it, `effective_on`: when the read side learns the business-date cut-off,
the dashboard uses it with no change here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from api.auth import Principal
from api.deps import check_written
from api.ui import formats, labels
from ledger import Ledger
from ledger.errors import ValidationFailed
from projections.base import is_digits
from projections.interface import ReadModels

Json = dict[str, Any]
VIEW_PARAMS = ("lang", "as_of", "as_of_position", "effective_on")
# The queries of money figures, which the business-date cut-off applies to (SPEC §5);
# states and histories are as recorded and take no cut-off.
# Who may follow which links (as in the API): the audit trail and the raw events
# auditors and finance, the integrity page auditors; the pages hide links a role would
# only get 403 from.
AUDIT_ROLES = frozenset({"auditor", "finance"})
INTEGRITY_ROLES = frozenset({"auditor"})
FIGURE_QUERIES = frozenset({"phase_totals", "phase_entries", "reconciliation",
                            "reconciliation_entries", "accounts", "recipient_statement"})


@dataclass
class View:
    user: Principal
    path: str
    lang: str = "de"
    as_of: str | None = None  # as typed: a local date-time
    as_of_position: int | None = None
    effective_on: date | None = None
    at: int | None = None  # the position answered at (None: current)
    cut_off_unsupported: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return self.at is not None or self.effective_on is not None

    @property
    def may_audit(self) -> bool:
        """Whether the user may read the audit trail and the events behind positions."""
        return bool(self.user.roles & AUDIT_ROLES)

    @property
    def may_verify(self) -> bool:
        """Whether the user may open the integrity page."""
        return bool(self.user.roles & INTEGRITY_ROLES)

    def params(self, **changes: Any) -> dict[str, str]:
        """The view's query parameters (language, as-of, cut-off), with `changes`."""
        values: dict[str, Any] = {
            "lang": self.lang if self.lang != "de" else None, "as_of": self.as_of,
            "as_of_position": self.as_of_position,
            "effective_on": self.effective_on.isoformat() if self.effective_on else None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def url(self, path: str, **changes: Any) -> str:
        """A dashboard link that keeps the view (`changes` add or drop parameters)."""
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path

    def t(self, key: str) -> str:
        return labels.text(key, self.lang)

    def event(self, event_type: str) -> str:
        return labels.event_name(event_type, self.lang)

    def money(self, value: object) -> str:
        return formats.money(value, self.lang)

    def day(self, value: object) -> str:
        return formats.day(value, self.lang)

    def moment(self, value: object) -> str:
        return formats.moment(value, self.lang)

    def number(self, value: object) -> str:
        return formats.number(value, self.lang)

    def read(self, query: Callable[..., Json], *args: Any, **kwargs: Any) -> Json:
        """A read-model query at this view's position and business-date cut-off."""
        if self.effective_on is not None:
            if accepts(query, "effective_on"):
                kwargs["effective_on"] = self.effective_on
            elif getattr(query, "__name__", "") in FIGURE_QUERIES:
                self.cut_off_unsupported = True
        return query(*args, at=self.at, **kwargs)


def accepts(query: Callable[..., Any], name: str) -> bool:
    """Whether a read-model query takes the keyword `name` (one the read side may add)."""
    try:
        return name in inspect.signature(query).parameters
    except (TypeError, ValueError):
        return False


def view_of(request: Request, user: Principal) -> View:
    """The view named by the request's query (raises ValidationFailed for a bad value)."""
    q = request.query_params
    view = View(user=user, path=request.url.path, lang=formats.known_lang(q.get("lang")))
    view.as_of = (q.get("as_of") or "").strip() or None
    position = (q.get("as_of_position") or "").strip()
    if position:
        if not is_digits(position) or len(position) > 18:
            raise ValidationFailed("as_of_position: a position ≥ 0")
        view.as_of_position = int(position)
    cut_off = (q.get("effective_on") or "").strip()
    if cut_off:
        try:
            view.effective_on = date.fromisoformat(cut_off)
        except ValueError:
            raise ValidationFailed("effective_on: a date (YYYY-MM-DD)") from None
    if view.as_of is not None and view.as_of_position is not None:
        # as the API: the form's two fields name one moment, and which one a page showed
        # would otherwise be a guess
        raise ValidationFailed("as_of and as_of_position: give one, not both")
    if view.as_of is not None:
        try:
            formats.from_local(view.as_of)
        except formats.OutOfRange as exc:
            raise ValidationFailed(f"as_of: {exc}") from None
        except ValueError:
            raise ValidationFailed("as_of: a date and time (YYYY-MM-DDTHH:MM)") from None
    return view


def resolve(view: View, ledger: Ledger, read: ReadModels) -> None:
    """Turns the as-of moment into the position to answer at (blocking: threadpool).

    A position beyond the log's head is refused (ValidationFailed), as the API refuses
    it; one the read models have not reached yet is answered at their position, which
    the page shows."""
    if view.as_of_position is not None:
        check_written(ledger, view.as_of_position)  # as the API: exact, or refused
        view.at = view.as_of_position
    elif view.as_of is not None:
        view.at = ledger.position_at(formats.from_local(view.as_of))
    if view.at is not None:
        view.at = min(view.at, read.position())
