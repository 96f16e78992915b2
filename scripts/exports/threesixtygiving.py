"""360Giving Data Standard 1.4: a JSON data package of grants.

Identifiers: a grant is `360G-<programme_id>-<application_id>`; a recipient is
`DE-AGS-<recipient_id>` (the German municipality key; a local prefix of this project,
not one listed on org-id.guide); the funder, which has no organisation identifier in the
ledger, gets `360G-<programme_id>-funder` unless the caller passes one (360Giving's
advice for organisations without a registered identifier).

Amounts are JSON numbers written from the Decimal's own digits: `dumps` never goes
through float, so 16000000.00 stays 16000000.00.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any

from scripts.exports.grants import Grant, Transaction

VERSION = "1.4"
CURRENCY = "EUR"
RECIPIENT_PREFIX = "DE-AGS-"


def grant_id(grant: Grant) -> str:
    return f"360G-{grant.programme_id}-{grant.application_id}"


def funder_id(programme_id: str) -> str:
    return f"360G-{programme_id}-funder"


def package(grants: list[Grant], *, issued: str, funder: str | None = None) -> dict[str, Any]:
    """The data package for `grants` (at least one); `issued` is an ISO date-time."""
    if not grants:
        raise ValueError("a 360Giving package holds at least one grant")
    firsts: dict[str, Grant] = {}  # each programme's first grant, as write_package keeps
    for grant in grants:
        firsts.setdefault(grant.programme_id, grant)
    return {**_head(list(firsts.values()), issued),
            "grants": [_grant(g, funder) for g in grants]}


def _head(firsts: list[Grant], issued: str) -> dict[str, Any]:
    """The package's head from the first grant of each programme it holds: one programme
    names it, several are named all (not after the first of them)."""
    names = list(dict.fromkeys(g.programme_name for g in firsts))
    funders = list(dict.fromkeys(g.funder for g in firsts))
    return {
        "version": VERSION,
        "title": f"{names[0]}: grants" if len(names) == 1
        else f"Grants of {len(names)} programmes: {'; '.join(names)}",
        "description": f"Grants of the programme(s) "
                       f"{', '.join(g.programme_id for g in firsts)}, "
                       "exported from the Program Ledger.",
        "issued": issued,
        "publisher": {"name": "; ".join(funders)},
    }


def write_package(grants: Iterable[Grant], out: IO[bytes], *, issued: str,
                  funder: str | None = None) -> int:
    """Writes `dumps(package(grants, ...))` and a newline to `out`, the same bytes, one
    grant at a time: the grants go to a temporary file first (the package's head names
    every programme), so memory does not grow with them. Returns how many grants it wrote;
    with none it raises ValueError and writes nothing."""
    programmes: dict[str, Grant] = {}  # each programme's first grant
    count = 0
    with tempfile.TemporaryFile() as spool:
        for grant in grants:
            programmes.setdefault(grant.programme_id, grant)
            spool.write(f"{',' if count else ''}\n    {dumps(_grant(grant, funder), _level=2)}"
                        .encode())
            count += 1
        if not programmes:
            raise ValueError("a 360Giving package holds at least one grant")
        head = "".join(f"\n  {json.dumps(key, ensure_ascii=False)}: {dumps(value, _level=1)},"
                       for key, value in _head(list(programmes.values()), issued).items())
        out.write(f'{{{head}\n  "grants": ['.encode())
        spool.seek(0)
        shutil.copyfileobj(spool, out)
        out.write(b"\n  ]\n}\n")
    return count


def _grant(grant: Grant, funder: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": grant_id(grant),
        "title": _shortened(f"{grant.programme_name}: {grant.recipient_name}", 140),
        "description": "; ".join(grant.purposes) or grant.programme_name,
        "currency": CURRENCY,
        "amountAppliedFor": grant.requested,
        "amountAwarded": grant.awarded,
        "amountDisbursed": sum((t.amount for t in grant.disbursements), Decimal("0.00")),
        "awardDate": grant.decided_on,
        "recipientOrganization": [{"id": RECIPIENT_PREFIX + grant.recipient_id,
                                   "name": grant.recipient_name}],
        "fundingOrganization": [{"id": funder or funder_id(grant.programme_id),
                                 "name": grant.funder}],
        "grantProgramme": [{"code": grant.programme_id, "title": grant.programme_name}],
        # The award and its amendments: they add up to `amountAwarded`, as the schema asks
        # (a release at a closure or revocation is IATI's: it does not change the award).
        "commitmentTransaction": [_transaction(grant, t) for t in grant.transactions
                                  if t.kind in ("award", "amendment")],
        "disbursementTransaction": [_transaction(grant, t) for t in grant.disbursements],
    }
    if grant.closed_on:
        record["actualDates"] = [{"startDate": grant.decided_on, "endDate": grant.closed_on}]
    if grant.last_updated:  # its application's, recipient's or programme's last event
        record["dateModified"] = grant.last_updated
    return record


def _transaction(grant: Grant, transaction: Transaction) -> dict[str, Any]:
    return {"id": f"{grant_id(grant)}-{transaction.transaction_id}",
            "transactionDate": transaction.on, "currency": CURRENCY,
            "value": transaction.amount, "description": transaction.kind}


def dumps(value: Any, *, indent: int = 2, _level: int = 0) -> str:
    """JSON text of `value`, writing a Decimal as its exact literal (json.dumps cannot)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        return format(value, "f")
    pad, inner = "\n" + " " * (indent * _level), "\n" + " " * (indent * (_level + 1))
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{inner}{json.dumps(str(k), ensure_ascii=False)}: "
                 f"{dumps(v, indent=indent, _level=_level + 1)}" for k, v in value.items())
        return "{" + ",".join(items) + pad + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = (inner + dumps(v, indent=indent, _level=_level + 1) for v in value)
        return "[" + ",".join(items) + pad + "]"
    if isinstance(value, float):
        raise TypeError("money is Decimal, never float")
    return json.dumps(value, ensure_ascii=False)


def _shortened(text: str, limit: int) -> str:
    """`text` within `limit` characters (the schema's maxLength): cut at a word, with an
    ellipsis, where it is longer."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
