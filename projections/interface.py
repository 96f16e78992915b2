"""The contract between the read side and its callers (api/, scripts/).

Every method returns JSON-ready dicts (money as "123.45" strings, dates as ISO
strings) that already carry `position`, the log position they reflect. Every
query takes `at`, the position to answer as of (None = the current position of
the projection); every figure query also takes `effective_on`, a business date: the
figures from events effective on or before it (projections/days.py). Callers
turn `as_of` (recorded time) into a position with `Ledger.position_at(moment)`,
and wait for `min_position` with `wait_for(position, timeout)`.

Lists are cursor-paginated: `cursor` is an opaque string from `next_cursor`,
`limit` 1..1000; the answer is {"items": [...], "next_cursor": str | None, "position": n}.

Errors: raise ledger.errors.NotFound for an unknown phase, programme,
recipient, application or figure; ledger.errors.ValidationFailed for a bad
cursor or filter. Never anything else for bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol

Json = dict[str, Any]


class ReadModels(Protocol):
    # -- positions -------------------------------------------------------------
    def position(self) -> int:
        """The position up to which every projection has caught up (the minimum)."""
        ...

    def positions(self) -> dict[str, int]:
        """Each projection's tracking position, by projection name."""
        ...

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until every projection reached `position`; False on timeout."""
        ...

    def reached(self, position: int) -> bool:
        """True if every projection is known to have reached `position` (no wait, no
        I/O: False when that is not known yet)."""
        ...

    def peek(self, query: Callable[..., Json], *args: Any, **kwargs: Any) -> Json | None:
        """What `query(*args, **kwargs)` (one of these methods) answers, if that answer is
        kept and current; else None. Never blocks, so an event loop may call it."""
        ...

    def projection_status(self) -> dict[str, Json]:
        """By projection name: position, error (None unless it is failing) and
        failing_since (ISO time or None), read in one snapshot."""
        ...

    def runner_role(self) -> str:
        """`leader` when this process runs the projections, `follower` while another
        does, `off` when no runner runs here."""
        ...

    # -- current state -----------------------------------------------------------
    def application(self, application_id: str, *, at: int | None = None,
                    effective_on: date | None = None) -> Json:
        """application_id, phase_id, programme_id, recipient_id, status, requested,
        awarded, paid, repaid, released, outstanding, measures, drawdowns
        [{drawdown_id, amount, status, requested_on, paid_on}], position. With
        `effective_on`, as its events effective on or before that date left it and its
        money from their legs (plus `effective_on`); not submitted by then: NotFound."""
        ...

    def applications_on(self, application_ids: Sequence[str], *, effective_on: date,
                        at: int | None = None) -> dict[str, Json]:
        """`application(id, effective_on=...)` for each of `application_ids` at once;
        those not submitted by then (or unknown) are left out."""
        ...

    def applications(
        self,
        *,
        phase_id: str | None = None,
        recipient_id: str | None = None,
        status: str | None = None,
        reference: str | None = None,
        text: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
        at: int | None = None,
    ) -> Json:
        """A page of applications (each with its `recipient_name`) and the `total`;
        `reference` is a file reference (case and punctuation aside), `text` the start of
        any word of the recipient's name or the reference."""
        ...

    def programmes(self, *, cursor: str | None = None, limit: int = 100,
                   at: int | None = None) -> Json:
        """A page of programmes, each as `programme` answers it, and the `total`."""
        ...

    def phases_of(self, programme_id: str, *, cursor: str | None = None, limit: int = 100,
                  at: int | None = None) -> Json:
        """A page of a programme's phases, and the `total`; NotFound for no programme."""
        ...

    def recipients(self, *, text: str | None = None, cursor: str | None = None,
                   limit: int = 100, at: int | None = None) -> Json:
        """A page of recipients, those with a word of the name or the id starting with
        `text` when given, and the `total`."""
        ...

    def programme(self, programme_id: str, *, at: int | None = None) -> Json:
        """programme_id, name, funder, budgets per year, phases, position."""
        ...

    def phase(self, phase_id: str, *, at: int | None = None) -> Json:
        """phase_id, programme_id, name, fiscal_year, envelope, opens_on, closes_on,
        eligible_kinds, max_open_per_recipient, position."""
        ...

    def recipient(self, recipient_id: str, *, at: int | None = None) -> Json: ...

    # -- SPEC §5 read models ---------------------------------------------------
    def phase_totals(self, phase_id: str, *, at: int | None = None,
                     effective_on: date | None = None) -> Json:
        """envelope, requested, awarded, released, committed, available, paid, repaid,
        net_paid, outstanding, counts{status: n}, by_kind{kind: {same money
        figures}}, requested_by_category{category: amount}, position."""
        ...

    def phase_entries(
        self, phase_id: str, figure: str, *, cursor: str | None = None,
        limit: int = 100, at: int | None = None, effective_on: date | None = None,
        recipient_kind: str | None = None,
    ) -> Json:
        """The postings/events behind one figure (with `recipient_kind`, behind its cell
        of `by_kind`); items carry position, event_type, application_id, effective_date,
        recorded_at, account, amount (signed so that the items sum to the figure) — plus
        `total`."""
        ...

    def reconciliation(self, programme_id: str, fiscal_year: int, *, at: int | None = None,
                       effective_on: date | None = None) -> Json:
        """SPEC §5 figures, status, checks [{name, left, right, holds}], balanced."""
        ...

    def reconciliation_entries(
        self, programme_id: str, fiscal_year: int, figure: str, *,
        cursor: str | None = None, limit: int = 100, at: int | None = None,
        effective_on: date | None = None,
    ) -> Json: ...

    def recipient_statement(self, recipient_id: str, *, at: int | None = None,
                            effective_on: date | None = None) -> Json:
        """recipient fields, applications [{application_id, phase_id, status,
        requested, awarded, paid, repaid, balance}], totals, position."""
        ...

    def accounts(self, programme_id: str, *, cursor: str | None = None, limit: int = 100,
                 at: int | None = None, effective_on: date | None = None) -> Json:
        """A page of accounts in name order: {"accounts": [{"account", "balance"}],
        "by_kind": {kind: balance}, "total": "0.00" (both over all accounts),
        "next_cursor", "position"}."""
        ...

    def audit(
        self,
        *,
        entity_id: str | None = None,
        actor: str | None = None,
        event_type: str | None = None,
        recorded_from: str | None = None,
        recorded_to: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
        at: int | None = None,
    ) -> Json:
        """Items: position, recorded_at, effective_date, entity_type, entity_id,
        event_type, actor, role, reason, correlation_id, idempotency_key, data, hash."""
        ...

    def application_history(
        self, application_id: str, *, cursor: str | None = None, limit: int = 100,
        at: int | None = None,
    ) -> Json: ...

    def last_recorded(self, entity_type: str, entity_ids: Sequence[str], *,
                      at: int | None = None) -> dict[str, str]:
        """The recorded time (ISO, UTC) of each entity's last event at or before `at`;
        an id without an event by then is left out."""
        ...
