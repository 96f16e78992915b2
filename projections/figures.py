"""What every money figure is, once: base sums per scope, and how each leg and state moves them.

A *scope* is a phase (`phase:{id}`) or a programme (`programme:{id}`). Its figures
are kept as a flat dict of *base sums* (integer cents and counts), each the sum of
the legs (or application states) it names:

- phase scope: `{account_kind}.{class}` per leg (`phase.award`, `paid.repay`, ...),
  the same per recipient kind (`gemeinde|phase.award`), and from application states
  `requested`, `n|{status}`, `c|{category}`, with presence counters (`{kind}|legs`,
  `{kind}|live`, `cn|{category}`) that say whether a kind or category shows at all;
- programme scope: the year accounts by (account, class, fiscal year)
  (`a|unallocated:2021|close|2020`), the commitment accounts by fiscal year
  (`fy|2020|paid.paid`) and payment year (`ey|2021|paid.paid`), the balance by
  account kind (`k|phase`), the trial balance (`trial`) and, from application states,
  `app_paid|{fiscal_year}` (check 4 of the reconciliation, an independent path).

Every SPEC §5 figure is then a signed sum of base sums (`PHASE_FIGURES`,
`year_figures`), and the same definition names the index ranges of its drill-down.
The projection adds each event's contributions as it goes; a query as of an
earlier position adds the contributions after the nearest checkpoint to it.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

# Every event that posts money, and the class its legs carry. An unknown one stops
# the projection (loudly) rather than drop money from a figure.
CLASS_OF_EVENT = {
    "BudgetAppropriated": "budget", "BudgetAmended": "budget",
    "DirectExpenditureRecorded": "direct", "PhaseFunded": "funded",
    "FiscalYearClosed": "close", "Approved": "award", "AwardAmended": "award",
    "Closed": "release", "Revoked": "release", "DrawdownPaid": "paid",
    "RepaymentReceived": "repay",
}
# The classes a commitment account's legs can have: the drill-down reads one index
# range per (account kind, class), so this list must be complete (checked per leg).
KIND_CLASSES = {
    "phase": ("funded", "award", "release"),
    "outstanding": ("award", "release", "paid"),
    "paid": ("paid", "repay"),
}
YEAR_ACCOUNTS = ("appropriation", "unallocated", "direct", "repaid", "lapsed")

Pairs = tuple[tuple[str, str], ...]


class PhaseFigure(NamedTuple):
    sign: int
    pairs: Pairs  # (account kind, class) whose legs make the figure


PHASE_FIGURES: dict[str, PhaseFigure] = {
    "envelope": PhaseFigure(1, (("phase", "funded"),)),
    "awarded": PhaseFigure(-1, (("phase", "award"),)),
    "released": PhaseFigure(1, (("phase", "release"),)),
    "committed": PhaseFigure(-1, (("phase", "award"), ("phase", "release"))),
    "available": PhaseFigure(1, tuple(("phase", c) for c in KIND_CLASSES["phase"])),
    "paid": PhaseFigure(1, (("paid", "paid"),)),
    "repaid": PhaseFigure(-1, (("paid", "repay"),)),
    "net_paid": PhaseFigure(1, (("paid", "paid"), ("paid", "repay"))),
    "outstanding": PhaseFigure(1, tuple(("outstanding", c) for c in KIND_CLASSES["outstanding"])),
}
KIND_FIGURES = ("requested", "awarded", "released", "committed", "paid", "repaid", "net_paid",
                "outstanding")
RECONCILIATION_FIGURES = (
    "appropriation", "carried_in", "funded_to_phases", "direct_expenditure", "unallocated",
    "committed", "phases_available", "paid_against_year", "paid_in_year", "repaid_in_year",
    "outstanding", "lapsed", "carried_out", "trial_balance",
)
# Figures of a fiscal year that are a commitment account's legs of the year's phases
# (by fiscal year `fy`) or of payments dated in the year (`ey`): (sign, source, pairs).
YEAR_LEG_FIGURES: dict[str, tuple[int, str, Pairs]] = {
    "committed": (-1, "fy", (("phase", "award"), ("phase", "release"))),
    "phases_available": (1, "fy", PHASE_FIGURES["available"].pairs),
    "paid_against_year": (1, "fy", (("paid", "paid"),)),
    "paid_in_year": (1, "ey", (("paid", "paid"),)),
    "outstanding": (1, "fy", PHASE_FIGURES["outstanding"].pairs),
}
# Figures that are the legs of one year account: (sign, account kind, class or None,
# year offset of the account, fiscal year offset the legs must carry, or None).
YEAR_ACCOUNT_FIGURES: dict[str, tuple[int, str, str | None, int, int | None]] = {
    "appropriation": (-1, "appropriation", None, 0, None),
    "carried_in": (1, "unallocated", "close", 0, -1),
    "funded_to_phases": (-1, "unallocated", "funded", 0, None),
    "direct_expenditure": (1, "direct", None, 0, None),
    "unallocated": (1, "unallocated", None, 0, None),
    "repaid_in_year": (1, "repaid", None, 0, None),
    "lapsed": (1, "lapsed", None, 0, None),
    "carried_out": (1, "unallocated", "close", 1, 0),
}


class Leg(NamedTuple):
    """One leg of a posting, as a row of the `entries` table."""

    position: int
    leg: int
    recorded_at: str
    effective_date: str
    effective_year: int
    event_type: str
    cls: str
    programme_id: str
    fiscal_year: int | None
    phase_id: str | None
    application_id: str | None
    recipient_id: str | None
    recipient_kind: str | None
    account: str
    account_kind: str
    account_year: int | None
    amount: int


Figures = dict[str, int]


def add(figures: Figures, key: str, amount: int) -> None:
    figures[key] = figures.get(key, 0) + amount


def phase_leg(figures: Figures, leg: Leg) -> None:
    pair = f"{leg.account_kind}.{leg.cls}"
    add(figures, pair, leg.amount)
    if leg.recipient_kind is not None:
        add(figures, f"{leg.recipient_kind}|{pair}", leg.amount)
        add(figures, f"{leg.recipient_kind}|legs", 1)


def programme_leg(figures: Figures, leg: Leg) -> None:
    add(figures, "trial", leg.amount)
    add(figures, f"k|{leg.account_kind}", leg.amount)
    if leg.account_kind in YEAR_ACCOUNTS:
        add(figures, f"a|{leg.account}|{leg.cls}|{leg.fiscal_year}", leg.amount)
    elif leg.account_kind in KIND_CLASSES:
        add(figures, f"fy|{leg.fiscal_year}|{leg.account_kind}.{leg.cls}", leg.amount)
        if leg.account_kind == "paid":
            add(figures, f"ey|{leg.effective_year}|{leg.account_kind}.{leg.cls}", leg.amount)


def check_leg(leg: Leg) -> None:
    """Refuse a leg the figures cannot place (a new event type or account needs code)."""
    classes = KIND_CLASSES.get(leg.account_kind)
    if classes is not None and leg.cls not in classes:
        raise LookupError(f"{leg.event_type} at {leg.position} posts to {leg.account}: "
                          "no figure knows this class of leg")
    if classes is None and leg.account_kind not in YEAR_ACCOUNTS:
        raise LookupError(f"unknown account {leg.account} at {leg.position}")


def phase_state(state: dict[str, Any] | None) -> Figures:
    """What one application's state adds to its phase's figures."""
    if state is None:
        return {}
    figures = {f"n|{state['status']}": 1}
    if state["status"] != "withdrawn":
        kind = state["recipient_kind"]
        figures["requested"] = state["requested"]
        figures[f"{kind}|requested"] = state["requested"]
        figures[f"{kind}|live"] = 1
        for m in state["measures"]:
            add(figures, f"c|{m['category']}", m["amount"])
            add(figures, f"cn|{m['category']}", 1)
    return figures


def programme_state(state: dict[str, Any] | None) -> Figures:
    """What one application's state adds to its programme's figures."""
    return {} if state is None else {f"app_paid|{state['fiscal_year']}": state["paid"]}


def add_change(figures: Figures, before: Figures, after: Figures) -> None:
    for key in before.keys() | after.keys():
        delta = after.get(key, 0) - before.get(key, 0)
        if delta:
            add(figures, key, delta)


def total(figures: Figures, pairs: Pairs, prefix: str = "") -> int:
    get = figures.get
    value = 0
    for key in _keys(pairs, prefix):
        value += get(key, 0)
    return value


@functools.lru_cache(maxsize=1024)
def _keys(pairs: Pairs, prefix: str) -> tuple[str, ...]:
    """The base sums' keys of `pairs` under `prefix` (the same few in every answer: made
    once; building them per answer was a third of a phase's totals)."""
    return tuple(f"{prefix}{kind}.{cls}" for kind, cls in pairs)


@functools.lru_cache(maxsize=64)
def _phase_keys(prefix: str) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    return tuple((name, f.sign, _keys(f.pairs, prefix)) for name, f in PHASE_FIGURES.items())


def phase_figures(figures: Figures, prefix: str = "") -> dict[str, int]:
    """The money figures of a phase (or, with prefix `{kind}|`, of one recipient kind)."""
    get = figures.get
    result = {}
    for name, sign, keys in _phase_keys(prefix):  # plain loops: no comprehension's frame
        value = 0
        for key in keys:
            value += get(key, 0)
        result[name] = sign * value
    return result


# The account figures by the kind of account they read (year_figures looks at those alone).
_ACCOUNT_FIGURES_OF: dict[str, list[tuple[str, int, str | None, int, int | None]]] = {}
for _name, (_sign, _kind, _cls, _offset, _fy_offset) in YEAR_ACCOUNT_FIGURES.items():
    _ACCOUNT_FIGURES_OF.setdefault(_kind, []).append((_name, _sign, _cls, _offset, _fy_offset))


@functools.lru_cache(maxsize=4096)
def _account_key(key: str) -> tuple[str, int, str, str]:
    """(account kind, account year, class, fiscal year) of a base sum `a|kind:year|cls|fy`
    (the same few keys recur in every answer: parsed once)."""
    _, account, cls, fiscal_year = key.split("|")
    kind, _, account_year = account.partition(":")
    return kind, int(account_year), cls, fiscal_year


@functools.lru_cache(maxsize=16384)
def _year_terms(key: str, year: int) -> tuple[tuple[str, int], ...]:
    """(figure, sign) of each year-account figure of `year` that the base sum `key`
    (`a|kind:year|cls|fy`) is part of: decided once per key and year, not per answer."""
    kind, account_year, cls, fiscal_year = _account_key(key)
    return tuple((name, sign) for name, sign, of_cls, offset, fy_offset
                 in _ACCOUNT_FIGURES_OF.get(kind, ())
                 if account_year == year + offset and (of_cls is None or cls == of_cls)
                 and (fy_offset is None or fiscal_year == str(year + fy_offset)))


def year_figures(figures: Figures, year: int) -> dict[str, int]:
    """The reconciliation figures of one fiscal year from its programme's base sums."""
    result = {}
    for name, (sign, source, pairs) in YEAR_LEG_FIGURES.items():
        result[name] = sign * total(figures, pairs, f"{source}|{year}|")
    accounts = dict.fromkeys(YEAR_ACCOUNT_FIGURES, 0)
    for key, value in figures.items():
        if key.startswith("a|"):
            for name, sign in _year_terms(key, year):
                accounts[name] += sign * value
    result.update(accounts)
    result["trial_balance"] = figures.get("trial", 0)
    return {name: result[name] for name in RECONCILIATION_FIGURES}
