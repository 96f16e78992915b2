"""Phase totals, yearly reconciliation and accounts: filtered sums of ledger entries.

Each money figure is one SQL condition on the `entries` legs and a sign. The
total is `sign × SUM(amount)` over the legs that match with `position <= at`;
the drill-down lists exactly those legs, signed, so they always sum to the
figure. Reconciliation uses effective dates for "in year" figures and
positions (recorded order) for as-of.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import NotFound
from projections.base import check_limit, decode_cursor, encode_cursor
from projections.db import Tx
from projections.events import eur
from projections.grants import ENTRIES
from projections.state import StateQuery

Json = dict[str, Any]
Figure = tuple[str, int]  # (condition on a leg, sign)

_COMMITTING = "event_type IN ('Approved', 'AwardAmended', 'Closed', 'Revoked')"
PHASE_FIGURES: dict[str, Figure] = {
    "envelope": ("account_kind = 'phase' AND event_type = 'PhaseFunded'", 1),
    "awarded": ("account_kind = 'phase' AND event_type IN ('Approved', 'AwardAmended')", -1),
    "released": ("account_kind = 'phase' AND event_type IN ('Closed', 'Revoked')", 1),
    "committed": (f"account_kind = 'phase' AND {_COMMITTING}", -1),
    "available": ("account_kind = 'phase'", 1),
    "paid": ("account_kind = 'paid' AND event_type = 'DrawdownPaid'", 1),
    "repaid": ("account_kind = 'paid' AND event_type = 'RepaymentReceived'", -1),
    "net_paid": ("account_kind = 'paid'", 1),
    "outstanding": ("account_kind = 'outstanding'", 1),
}
KIND_FIGURES = ("requested", "awarded", "released", "committed", "paid", "repaid", "net_paid",
                "outstanding")
RECONCILIATION_FIGURES: dict[str, Figure] = {
    "appropriation": ("account_kind = 'appropriation' AND account_year = :y", -1),
    "carried_in": ("account_kind = 'unallocated' AND account_year = :y "
                   "AND event_type = 'FiscalYearClosed' AND fiscal_year = :y_prev", 1),
    "funded_to_phases": ("account_kind = 'unallocated' AND account_year = :y "
                         "AND event_type = 'PhaseFunded'", -1),
    "direct_expenditure": ("account_kind = 'direct' AND account_year = :y", 1),
    "unallocated": ("account_kind = 'unallocated' AND account_year = :y", 1),
    "committed": (f"account_kind = 'phase' AND fiscal_year = :y AND {_COMMITTING}", -1),
    "phases_available": ("account_kind = 'phase' AND fiscal_year = :y", 1),
    "paid_against_year": ("account_kind = 'paid' AND fiscal_year = :y "
                          "AND event_type = 'DrawdownPaid'", 1),
    "paid_in_year": ("account_kind = 'paid' AND event_type = 'DrawdownPaid' "
                     "AND effective_date >= :y_start AND effective_date <= :y_end", 1),
    "repaid_in_year": ("account_kind = 'repaid' AND account_year = :y", 1),
    "outstanding": ("account_kind = 'outstanding' AND fiscal_year = :y", 1),
    "lapsed": ("account_kind = 'lapsed' AND account_year = :y", 1),
    "carried_out": ("account_kind = 'unallocated' AND account_year = :y_next "
                    "AND event_type = 'FiscalYearClosed' AND fiscal_year = :y", 1),
    "trial_balance": ("1 = 1", 1),
}
ITEM_COLUMNS = ("position", "leg", "event_type", "application_id", "recipient_id",
                "effective_date", "recorded_at", "account", "amount")


def _sums(tx: Tx, tag: str, scope: str, *, figures: dict[str, Figure], params: dict[str, Any],
          group: str | None = None) -> dict[str | None, dict[str, int]]:
    columns = ", ".join(
        f"COALESCE(SUM(CASE WHEN {cond} THEN amount ELSE 0 END), 0)"
        for cond, _ in figures.values()
    )
    grouping = f" GROUP BY {group}" if group else ""
    sql = (f"SELECT {group or 'NULL'}, {columns} FROM {ENTRIES.name(tag)} "
           f"WHERE {scope} AND position <= :at{grouping}")
    result: dict[str | None, dict[str, int]] = {}
    for row in tx.execute(sql, params):
        result[row[0]] = {name: sign * int(value) for (name, (_, sign)), value
                          in zip(figures.items(), row[1:], strict=True)}
    return result


def _entries(tx: Tx, tag: str, scope: str, *, figure: Figure, params: dict[str, Any],
             cursor: str | None, limit: int) -> Json:
    limit = check_limit(limit)
    condition, sign = figure
    after = decode_cursor(cursor)
    where = f"{scope} AND position <= :at AND ({condition})"
    total_rows = tx.execute(
        f"SELECT COALESCE(SUM(amount), 0) FROM {ENTRIES.name(tag)} WHERE {where}",
        params,
    )
    page = dict(params, limit=limit + 1, cp=0, cl=-1)
    if after is not None:
        try:
            position, leg = (int(part) for part in after.split(":"))
        except ValueError:
            from ledger.errors import ValidationFailed

            raise ValidationFailed("cursor: not a cursor from next_cursor") from None
        page.update(cp=position, cl=leg)
    rows = tx.execute(
        f"SELECT {', '.join(ITEM_COLUMNS)} FROM {ENTRIES.name(tag)} WHERE {where} "
        "AND (position > :cp OR (position = :cp AND leg > :cl)) ORDER BY position, leg "
        "LIMIT :limit",
        page,
    )
    items = []
    for row in rows[:limit]:
        item = dict(zip(ITEM_COLUMNS, row, strict=True))
        item["position"] = int(item["position"])
        item["amount"] = eur(sign * int(item["amount"]))
        items.append(item)
    next_cursor = (encode_cursor(f"{items[-1]['position']}:{items[-1]['leg']}")
                   if len(rows) > limit else None)
    return {"items": items, "next_cursor": next_cursor,
            "total": eur(sign * int(total_rows[0][0])), "position": params["at"]}


# -- phase totals ------------------------------------------------------------------------------


def phase_totals(q: StateQuery, phase_id: str) -> Json:
    q.require("phase", phase_id)
    params = {"phase_id": phase_id, "at": q.at}
    groups = _sums(q.tx, q.tag, "phase_id = :phase_id", figures=PHASE_FIGURES, params=params,
                   group="recipient_kind")
    totals = dict.fromkeys(PHASE_FIGURES, 0)
    by_kind: dict[str, dict[str, int]] = {}
    for kind, figures in groups.items():
        for name, value in figures.items():
            totals[name] += value
        if kind is not None:
            by_kind[kind] = {name: figures[name] for name in KIND_FIGURES if name != "requested"}
    requested = 0
    counts: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for s in q.many("application", phase_id=phase_id):
        counts[s["status"]] = counts.get(s["status"], 0) + 1
        if s["status"] == "withdrawn":
            continue
        requested += s["requested"]
        of_kind = by_kind.setdefault(s["recipient_kind"], dict.fromkeys(KIND_FIGURES[1:], 0))
        of_kind["requested"] = of_kind.get("requested", 0) + s["requested"]
        for m in s["measures"]:
            by_category[m["category"]] = by_category.get(m["category"], 0) + m["amount"]
    return {
        "phase_id": phase_id, "requested": eur(requested),
        **{name: eur(value) for name, value in totals.items()},
        "counts": dict(sorted(counts.items())),
        "by_kind": {kind: {name: eur(figures.get(name, 0)) for name in KIND_FIGURES}
                    for kind, figures in sorted(by_kind.items())},
        "requested_by_category": {c: eur(v) for c, v in sorted(by_category.items())},
        "position": q.at,
    }


def phase_entries(q: StateQuery, phase_id: str, figure: str, *, cursor: str | None,
                  limit: int) -> Json:
    q.require("phase", phase_id)
    if figure == "requested":
        return _requested_entries(q, phase_id, cursor=cursor, limit=limit)
    if figure not in PHASE_FIGURES:
        raise NotFound(f"unknown figure {figure}; one of requested, {', '.join(PHASE_FIGURES)}")
    return _entries(q.tx, q.tag, "phase_id = :phase_id", figure=PHASE_FIGURES[figure],
                    params={"phase_id": phase_id, "at": q.at}, cursor=cursor, limit=limit)


def _requested_entries(q: StateQuery, phase_id: str, *, cursor: str | None, limit: int) -> Json:
    """The Submitted or Amended event that set each live application's requested amount."""
    limit = check_limit(limit)
    states = [s for s in q.many("application", phase_id=phase_id) if s["status"] != "withdrawn"]
    total = sum(s["requested"] for s in states)
    after = decode_cursor(cursor)
    if after is not None:
        states = [s for s in states if s["application_id"] > after]
    items = [{**s["requested_by"], "leg": None, "application_id": s["application_id"],
              "recipient_id": s["recipient_id"], "account": None,
              "amount": eur(s["requested"])} for s in states[:limit]]
    more = len(states) > limit
    next_cursor = encode_cursor(states[limit - 1]["application_id"]) if more else None
    return {"items": items, "next_cursor": next_cursor, "total": eur(total), "position": q.at}


# -- reconciliation and accounts ---------------------------------------------------------------


def _year_params(programme_id: str, year: int, at: int) -> dict[str, Any]:
    return {"programme_id": programme_id, "at": at, "y": year, "y_prev": year - 1,
            "y_next": year + 1, "y_start": f"{year:04d}-01-01", "y_end": f"{year:04d}-12-31"}


def _budget_year(q: StateQuery, programme_id: str, year: int) -> Json:
    programme = q.require("programme", programme_id)
    budget = programme["budgets"].get(str(year))
    if budget is None:
        raise NotFound(f"programme {programme_id} has no budget for {year}")
    return dict(budget)


def reconciliation(q: StateQuery, programme_id: str, year: int) -> Json:
    budget = _budget_year(q, programme_id, year)
    params = _year_params(programme_id, year, q.at)
    f = _sums(q.tx, q.tag, "programme_id = :programme_id", figures=RECONCILIATION_FIGURES,
              params=params).get(None, dict.fromkeys(RECONCILIATION_FIGURES, 0))
    of_applications = sum(s["paid"] for s in q.many(
        "application", programme_id=programme_id, fiscal_year=year))
    checks = [
        _check("appropriation + carried_in = funded_to_phases + direct_expenditure + "
               "unallocated + lapsed + carried_out",
               f["appropriation"] + f["carried_in"],
               f["funded_to_phases"] + f["direct_expenditure"] + f["unallocated"]
               + f["lapsed"] + f["carried_out"]),
        _check("funded_to_phases = committed + Σ available of the year's phases",
               f["funded_to_phases"], f["committed"] + f["phases_available"]),
        _check("committed = paid_against_year + outstanding",
               f["committed"], f["paid_against_year"] + f["outstanding"]),
        _check("paid_against_year = Σ paid of the year's applications",
               f["paid_against_year"], of_applications),
        _check("trial balance of all postings = 0.00", f["trial_balance"], 0),
    ]
    figures = {name: eur(value) for name, value in f.items() if name != "trial_balance"}
    return {"programme_id": programme_id, "fiscal_year": year, **figures,
            "trial_balance": eur(f["trial_balance"]), "status": budget["status"],
            "closed_on": budget["closed_on"], "checks": checks,
            "balanced": all(c["holds"] for c in checks), "position": q.at}


def _check(name: str, left: int, right: int) -> Json:
    return {"name": name, "left": eur(left), "right": eur(right), "holds": left == right}


def reconciliation_entries(q: StateQuery, programme_id: str, year: int, figure: str, *,
                           cursor: str | None, limit: int) -> Json:
    _budget_year(q, programme_id, year)
    if figure not in RECONCILIATION_FIGURES:
        raise NotFound(f"unknown figure {figure}; one of {', '.join(RECONCILIATION_FIGURES)}")
    return _entries(q.tx, q.tag, "programme_id = :programme_id",
                    figure=RECONCILIATION_FIGURES[figure],
                    params=_year_params(programme_id, year, q.at), cursor=cursor, limit=limit)


def accounts(q: StateQuery, programme_id: str) -> Json:
    q.require("programme", programme_id)
    rows = q.tx.execute(
        f"SELECT account, SUM(amount) FROM {ENTRIES.name(q.tag)} "
        "WHERE programme_id = :p AND position <= :at GROUP BY account ORDER BY account",
        {"p": programme_id, "at": q.at},
    )
    balances = [(str(account), int(total)) for account, total in rows]
    return {"accounts": [{"account": a, "balance": eur(b)} for a, b in balances],
            "total": eur(sum(b for _, b in balances)), "position": q.at}
