"""The grants an open-data export publishes, read once from the read models.

A grant is an application that was approved (status approved, closed or revoked);
its transactions are the award (decision date, the amount approved), every award
amendment (its date, the change), the residual released at a closure or revocation
(negative: the commitment that will not be paid), every paid drawdown (a
disbursement) and every repayment received (negative, it reverses part of a
disbursement). So the commitments sum to what is committed (awarded − released) on
any date, and the disbursements to what the recipient kept. Money stays `Decimal`,
exact to the cent.

`iter_grants` yields them one at a time, in application-id order, all as of one position:
an export holds a page of applications, the repayments and the recipients in memory, not
every grant (a national programme's 123,000 grants took a gigabyte as one list).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from projections.interface import Json, ReadModels

GRANT_STATUSES = ("approved", "closed", "revoked")
_PAGE = 1000


@dataclass(frozen=True)
class Transaction:
    kind: str  # "award", "amendment", "release", "disbursement" or "repayment"
    transaction_id: str
    on: str  # ISO date
    amount: Decimal  # releases and repayments are negative, an amendment either

    @property
    def commitment(self) -> bool:
        return self.kind in ("award", "amendment", "release")


@dataclass(frozen=True)
class Grant:
    application_id: str
    reference: str
    status: str
    programme_id: str
    programme_name: str
    funder: str
    phase_id: str
    recipient_id: str
    recipient_name: str
    recipient_kind: str
    requested: Decimal
    awarded: Decimal
    paid: Decimal
    repaid: Decimal
    decided_on: str
    closed_on: str | None
    purposes: tuple[str, ...]
    transactions: tuple[Transaction, ...] = field(default=())
    # The recorded time (ISO, UTC) of the last event of the application, its recipient or
    # its programme by the export's position: when what the grant shows last changed.
    last_updated: str | None = None

    @property
    def disbursements(self) -> tuple[Transaction, ...]:
        return tuple(t for t in self.transactions if t.kind in ("disbursement", "repayment"))


def collect_grants(read_models: ReadModels, *, at: int | None = None,
                   effective_on: date | None = None) -> list[Grant]:
    """Every grant of `iter_grants`, as a list."""
    return list(iter_grants(read_models, at=at, effective_on=effective_on))


def iter_grants(read_models: ReadModels, *, at: int | None = None,
                effective_on: date | None = None) -> Iterator[Grant]:
    """Every grant as of position `at` (default: where the read models stand now, so that
    every page reads the same moment while commands go on), ordered by application id
    (stable output); with `effective_on`, as it stood on that business date (awarded by
    then, its money from the entries effective by then, transactions dated by then)."""
    if at is None:
        at = read_models.position()
    later = _later_transactions(read_models, at)
    programmes: dict[str, Json] = {}
    recipients: dict[str, Json] = {}
    statements: dict[str, dict[str, Json]] = {}
    # (entity type, id) → last recorded time: the recipients' and programmes' kept for the
    # whole export (as their states are), each page's applications' for that page alone
    kept: dict[tuple[str, str], str] = {}
    for page in _application_pages(read_models, at):
        applications: dict[tuple[str, str], str] = {}
        _note_changes(read_models, at, page, "application", applications)
        _note_changes(read_models, at, page, "recipient", kept)
        _note_changes(read_models, at, page, "programme", kept)
        yield from _grants_of(read_models, at, effective_on, page, later=later,
                              programmes=programmes, recipients=recipients,
                              statements=statements, kept=kept, applications=applications)


def _note_changes(read_models: ReadModels, at: int, page: list[Json], kind: str,
                  changed: dict[tuple[str, str], str]) -> None:
    """Into `changed`, the last recorded times of the page's entities of `kind` not in it
    yet: one statement (three a page, not three a grant)."""
    new = sorted({i for i in (item[f"{kind}_id"] for item in page) if (kind, i) not in changed})
    if new:
        found = read_models.last_recorded(kind, new, at=at)
        changed.update(((kind, i), when) for i, when in found.items())


def _grants_of(read_models: ReadModels, at: int, effective_on: date | None,
               page: list[Json], *, later: dict[str, list[Transaction]],
               programmes: dict[str, Json], recipients: dict[str, Json],
               statements: dict[str, dict[str, Json]], kept: dict[tuple[str, str], str],
               applications: dict[tuple[str, str], str]) -> Iterator[Grant]:
    for item in page:
        programme_id, recipient_id = item["programme_id"], item["recipient_id"]
        if programme_id not in programmes:
            programmes[programme_id] = read_models.programme(programme_id, at=at)
        if recipient_id not in recipients:
            recipients[recipient_id] = read_models.recipient(recipient_id, at=at)
        times = [applications.get(("application", item["application_id"])),
                 kept.get(("recipient", recipient_id)), kept.get(("programme", programme_id))]
        grant = replace(_grant(item, programmes[programme_id], recipients[recipient_id],
                               later.get(item["application_id"], [])),
                        last_updated=max((t for t in times if t), default=None))
        if effective_on is not None:
            if recipient_id not in statements:
                statements[recipient_id] = {a["application_id"]: a for a in read_models
                                            .recipient_statement(recipient_id, at=at,
                                                                 effective_on=effective_on)
                                            ["applications"]}
            money = statements[recipient_id].get(grant.application_id)
            # (not on the statement by that date: submitted after it, so not awarded then)
            dated = None if money is None else _on(grant, money, effective_on)
            if dated is None:
                continue
            grant = dated
        yield grant


def _on(grant: Grant, money: Json, day: date) -> Grant | None:
    """The grant as it stood on `day` (None: not awarded yet); money from its entries."""
    last = day.isoformat()
    if grant.decided_on > last:
        return None
    awarded = Decimal(money["awarded"])
    kept = tuple(t for t in grant.transactions[1:] if t.on <= last)
    closed = grant.closed_on is not None and grant.closed_on <= last
    return replace(grant, awarded=awarded, paid=Decimal(money["paid"]),
                   repaid=Decimal(money["repaid"]), status=grant.status if closed or
                   grant.closed_on is None else "approved",
                   closed_on=grant.closed_on if closed else None,
                   transactions=(grant.transactions[0], *kept))


def _application_pages(read_models: ReadModels, at: int) -> Iterator[list[Json]]:
    """The grants' applications a page at a time, in the list's order (application id)."""
    cursor = None
    while True:
        page = read_models.applications(cursor=cursor, limit=_PAGE, at=at)
        yield [item for item in page["items"] if item["status"] in GRANT_STATUSES]
        cursor = page["next_cursor"]
        if cursor is None:
            return


# What the audit trail adds to a grant's transactions, by event type: its kind, its id's
# prefix, and its amount from the event's data.
_LATER: dict[str, tuple[str, str, Any]] = {
    "Application.AwardAmended": ("amendment", "M", lambda d: Decimal(d["new_amount"])
                                 - Decimal(d["previous_amount"])),
    "Application.Closed": ("release", "L", lambda d: -Decimal(d["released"])),
    "Application.Revoked": ("release", "L", lambda d: -Decimal(d["released"])),
    "Application.RepaymentReceived": ("repayment", "R", lambda d: -Decimal(d["amount"])),
}


def _later_transactions(read_models: ReadModels, at: int | None
                        ) -> dict[str, list[Transaction]]:
    """By application, what happened to a grant after its award that the grant row keeps
    only as a sum: award amendments (a commitment of the change), the residual released
    at a closure or revocation (a negative commitment), repayments (a negative
    disbursement) — from the audit trail, each on its business date."""
    found: dict[str, list[Transaction]] = defaultdict(list)
    for event_type, (kind, prefix, amount_of) in _LATER.items():
        cursor = None
        while True:
            page = read_models.audit(event_type=event_type, cursor=cursor, limit=_PAGE, at=at)
            for event in page["items"]:
                amount = amount_of(event["data"])
                if amount:
                    found[event["entity_id"]].append(Transaction(
                        kind, f"{prefix}{event['position']}", event["effective_date"],
                        amount))
            cursor = page["next_cursor"]
            if cursor is None:
                break
    return found


def _grant(item: Json, programme: Json, recipient: Json,
           later: list[Transaction]) -> Grant:
    amended = sum((t.amount for t in later if t.kind == "amendment"), Decimal("0.00"))
    # the award as decided; its amendments follow as commitments of their own
    award = Transaction("award", "A1", item["decided_on"],
                        Decimal(item["awarded"]) - amended)
    paid = [Transaction("disbursement", d["drawdown_id"], d["paid_on"], Decimal(d["amount"]))
            for d in item["drawdowns"] if d["status"] == "paid"]
    return Grant(
        application_id=item["application_id"], reference=item["reference"],
        status=item["status"], programme_id=item["programme_id"],
        programme_name=programme["name"], funder=programme["funder"],
        phase_id=item["phase_id"], recipient_id=item["recipient_id"],
        recipient_name=recipient["name"], recipient_kind=item["recipient_kind"],
        requested=Decimal(item["requested"]), awarded=Decimal(item["awarded"]),
        paid=Decimal(item["paid"]), repaid=Decimal(item["repaid"]),
        decided_on=item["decided_on"], closed_on=item["closed_on"],
        purposes=_purposes(item["measures"]),
        transactions=(award, *sorted(paid + later, key=lambda t: (t.on, t.transaction_id))),
    )


def _purposes(measures: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"{m['description']} ({m['category']})" for m in measures))
