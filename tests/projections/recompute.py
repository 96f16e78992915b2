"""The figures recomputed the slow way, as the read side did before running figures:
every money figure a filtered SQL sum over all legs of its scope with `position <= at`,
and the state figures a walk over every application. An independent oracle for tests.

With a business date (`q.on`), a money figure keeps the legs effective on or before
it, and a state figure is the sum of what each change of an application's state
added, for the changes made by events effective on or before it (their effective
date read from the audit table, not from the grants projection)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from projections.events import eur
from projections.grants import ENTRIES, HISTORY
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
    dated = " AND effective_date <= :on" if q.on is not None else ""
    sql = (f"SELECT {group or 'NULL'}, {columns} FROM {ENTRIES.name(q.tag)} "
           f"WHERE {scope} AND position <= :at{dated}{grouping}")
    params = {**params, "on": q.on}
    return {row[0]: {name: sign * int(value) for (name, (_, sign)), value
                     in zip(figures.items(), row[1:], strict=True)}
            for row in q.tx.execute(sql, params)}


def _phase_legs(q: StateQuery, phase_id: str
                ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """The phase's figures from its legs, in all and by recipient kind (no `requested`)."""
    groups = _sums(q, "phase_id = :phase_id", PHASE, {"phase_id": phase_id, "at": q.at},
                   group="recipient_kind")
    totals = dict.fromkeys(PHASE, 0)
    by_kind: dict[str, dict[str, int]] = {}
    for kind, figures in groups.items():
        for name, value in figures.items():
            totals[name] += value
        if kind is not None:
            by_kind[kind] = {name: figures[name] for name in KIND_FIGURES if name != "requested"}
    return totals, by_kind


def phase_totals(q: StateQuery, phase_id: str) -> dict[str, Any]:
    if q.on is not None:
        return _phase_totals_on(q, phase_id)
    totals, by_kind = _phase_legs(q, phase_id)
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
    if q.on is not None:
        paid = _state_sums(q, "programme_id", programme_id,
                           lambda s: {"paid": s["paid"]} if s["fiscal_year"] == year else {})
        of_applications = paid.get("paid", 0)
    else:
        of_applications = sum(s["paid"] for s in q.many(
            "application", programme_id=programme_id, fiscal_year=year))
    return {**{name: eur(value) for name, value in f.items()},
            "of_applications": eur(of_applications)}


def account_balances(q: StateQuery, programme_id: str) -> dict[str, str]:
    dated = "effective_date <= :on" if q.on is not None else "1 = 1"
    rows = q.tx.execute(
        f"SELECT account, SUM(CASE WHEN {dated} THEN amount ELSE 0 END) "
        f"FROM {ENTRIES.name(q.tag)} "
        "WHERE programme_id = :p AND position <= :at GROUP BY account ORDER BY account",
        {"p": programme_id, "at": q.at, "on": q.on})
    return {str(account): eur(int(total)) for account, total in rows}


def _state_sums(q: StateQuery, column: str, scope_id: str,
                features: Callable[[dict[str, Any]], dict[str, int]]) -> dict[str, int]:
    """Σ of what each change of an application's state added to `features`, over the
    changes up to `q.at` by events effective on or before `q.on`."""
    audit_tag = str(q.tx.execute(
        "SELECT tag FROM proj_versions WHERE projection = 'audit'")[0][0])
    effective = {int(position): str(day) for position, day in q.tx.execute(
        f"SELECT position, effective_date FROM proj_audit_{audit_tag} WHERE position <= ?",
        (q.at,))}
    rows = q.tx.execute(
        f"SELECT entity_id, position, state FROM {HISTORY.name(q.tag)} WHERE kind = "
        f"'application' AND {column} = ? AND position <= ? ORDER BY entity_id, position",
        (scope_id, q.at))
    sums: dict[str, int] = {}
    before: dict[str, dict[str, int]] = {}
    for entity_id, position, text in rows:
        now = features(json.loads(text))
        was = before.get(str(entity_id), {})
        before[str(entity_id)] = now
        if effective[int(position)] <= str(q.on):
            for key in was.keys() | now.keys():
                sums[key] = sums.get(key, 0) + now.get(key, 0) - was.get(key, 0)
    return sums


def _application_features(s: dict[str, Any]) -> dict[str, int]:
    features = {f"status:{s['status']}": 1}
    if s["status"] != "withdrawn":
        features["requested"] = s["requested"]
        features[f"kind:{s['recipient_kind']}"] = 1
        features[f"kind_requested:{s['recipient_kind']}"] = s["requested"]
        for m in s["measures"]:
            features[f"category:{m['category']}"] = (
                features.get(f"category:{m['category']}", 0) + m["amount"])
            features[f"categories:{m['category']}"] = (
                features.get(f"categories:{m['category']}", 0) + 1)
    return features


def _phase_totals_on(q: StateQuery, phase_id: str) -> dict[str, Any]:
    totals, by_kind = _phase_legs(q, phase_id)
    states = _state_sums(q, "phase_id", phase_id, _application_features)
    for key, value in states.items():
        if key.startswith("kind:") and value:
            by_kind.setdefault(key[5:], {})
    for kind, figures in by_kind.items():
        figures["requested"] = states.get(f"kind_requested:{kind}", 0)
    return {
        "phase_id": phase_id, "requested": eur(states.get("requested", 0)),
        **{name: eur(value) for name, value in totals.items()},
        "counts": {key[7:]: value for key, value in sorted(states.items())
                   if key.startswith("status:") and value},
        "by_kind": {kind: {name: eur(figures.get(name, 0)) for name in KIND_FIGURES}
                    for kind, figures in sorted(by_kind.items())},
        "requested_by_category": {key[9:]: eur(value) for key, value in sorted(states.items())
                                  if key.startswith("category:")
                                  and states.get(f"categories:{key[9:]}")},
        "position": q.at, "effective_on": q.on,
    }
