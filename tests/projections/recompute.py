"""The figures recomputed the slow way, as the read side did before running figures:
every money figure a filtered SQL sum over all legs of its scope with `position <= at`,
and the state figures a walk over every application. An independent oracle for tests."""

from __future__ import annotations

from typing import Any

from projections.events import eur
from projections.grants import ENTRIES
from projections.state import StateQuery

Figure = tuple[str, int]  # (condition on a leg, sign)

_COMMITTING = "event_type IN ('Approved', 'AwardAmended', 'Closed', 'Revoked')"
PHASE: dict[str, Figure] = {
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
YEAR: dict[str, Figure] = {
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


def _sums(q: StateQuery, scope: str, figures: dict[str, Figure], params: dict[str, Any],
          group: str | None = None) -> dict[Any, dict[str, int]]:
    columns = ", ".join(f"COALESCE(SUM(CASE WHEN {cond} THEN amount ELSE 0 END), 0)"
                        for cond, _ in figures.values())
    grouping = f" GROUP BY {group}" if group else ""
    sql = (f"SELECT {group or 'NULL'}, {columns} FROM {ENTRIES.name(q.tag)} "
           f"WHERE {scope} AND position <= :at{grouping}")
    return {row[0]: {name: sign * int(value) for (name, (_, sign)), value
                     in zip(figures.items(), row[1:], strict=True)}
            for row in q.tx.execute(sql, params)}


def phase_totals(q: StateQuery, phase_id: str) -> dict[str, Any]:
    groups = _sums(q, "phase_id = :phase_id", PHASE, {"phase_id": phase_id, "at": q.at},
                   group="recipient_kind")
    totals = dict.fromkeys(PHASE, 0)
    by_kind: dict[str, dict[str, int]] = {}
    for kind, figures in groups.items():
        for name, value in figures.items():
            totals[name] += value
        if kind is not None:
            by_kind[kind] = {name: figures[name] for name in KIND_FIGURES if name != "requested"}
    requested, counts, by_category = 0, {}, {}  # type: ignore[var-annotated]
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


def year_figures(q: StateQuery, programme_id: str, year: int) -> dict[str, Any]:
    params = {"programme_id": programme_id, "at": q.at, "y": year, "y_prev": year - 1,
              "y_next": year + 1, "y_start": f"{year:04d}-01-01", "y_end": f"{year:04d}-12-31"}
    f = _sums(q, "programme_id = :programme_id", YEAR, params).get(None, dict.fromkeys(YEAR, 0))
    of_applications = sum(s["paid"] for s in q.many(
        "application", programme_id=programme_id, fiscal_year=year))
    return {**{name: eur(value) for name, value in f.items()},
            "of_applications": eur(of_applications)}


def account_balances(q: StateQuery, programme_id: str) -> dict[str, str]:
    rows = q.tx.execute(
        f"SELECT account, SUM(amount) FROM {ENTRIES.name(q.tag)} "
        "WHERE programme_id = :p AND position <= :at GROUP BY account ORDER BY account",
        {"p": programme_id, "at": q.at})
    return {str(account): eur(int(total)) for account, total in rows}
