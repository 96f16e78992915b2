"""Phase totals and yearly reconciliation from running figures; drill-downs by range.

Every figure is read from its scope's running base sums (projections/figures.py):
at the projection's position, one row; as of an earlier position, the checkpoint at
or before it plus the few changes after it (`scope_changes`, each a few keys). A
drill-down lists the legs of the figure's index ranges (one per account kind and
class), merged in position order a page at a time; signed like the figure, they sum
to it.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from ledger.errors import NotFound, ValidationFailed
from ledger.vocabulary import RecipientKind
from projections import days
from projections import figures as fig
from projections.base import check_limit, decode_cursor, encode_cursor
from projections.db import any_of, joined, values_per_statement
from projections.events import eur
from projections.grants import CHANGES, CHECKPOINTS, ENTITIES, ENTRIES, HISTORY, SCOPES
from projections.state import LATEST_STATE, StateQuery

Json = dict[str, Any]
Range = tuple[str, list[Any]]  # a condition on entries that one index serves, and its values

PHASE_FIGURES = fig.PHASE_FIGURES
RECONCILIATION_FIGURES = fig.RECONCILIATION_FIGURES
ITEM_COLUMNS = ("position", "leg", "event_type", "application_id", "recipient_id",
                "effective_date", "recorded_at", "account", "amount")
RECIPIENT_KINDS = tuple(RecipientKind)
_SOURCES = {"phase": ("phase_id", fig.phase_leg, fig.phase_state),
            "programme": ("programme_id", fig.programme_leg, fig.programme_state)}


def scope_at(q: StateQuery, kind: str, scope_id: str) -> tuple[Json, fig.Figures]:
    """A phase's or programme's state and base sums as of `q.at` (NotFound if it did not
    exist then): now, its current row; by business date, its state and its periods
    (projections/days.py) in one statement; as of an earlier position, one statement
    (`_changes_sql`)."""
    if q.on is not None:
        return _dated_scope(q, kind, scope_id, q.on)
    if q.at >= q.live or q.schema < CHANGES_SCHEMA:
        return q.require(kind, scope_id), _figures_at(q, kind, scope_id)
    rows = q.tx.execute(_changes_sql(q.tag, joined(q.tx, "delta")),
                        {"key": f"{kind}:{scope_id}", "kind": kind, "id": scope_id, "at": q.at})
    if not rows or int(rows[-1][0]) != _STATE:
        raise NotFound(f"unknown {kind} {scope_id}{q.then()}")
    # the checkpoint's sums plus its changes' deltas (one text, or NULL where none)
    return orjson.loads(rows[-1][2]), days.summed_texts(text for _, _, text in rows[:-1])


def _dated_scope(q: StateQuery, kind: str, scope_id: str, on: str
                 ) -> tuple[Json, fig.Figures]:
    """A scope's state as of `q.at` and its base sums by business date, in one statement
    (one round trip fewer than two: a third of the server's time for such an answer
    went to sending statements); a scope without sums has no periods either: {}."""
    periods, params = days.periods_sql(q, f"{kind}:{scope_id}", on)
    # The periods' sums as one text: a reconciliation reads some seventy.
    rows = q.tx.execute(f"SELECT {_STATE}, s.state FROM ({q.one_sql()}) s UNION ALL "
                        f"SELECT {_PERIOD}, {joined(q.tx, 'p.figures')} FROM ({periods}) p",
                        {**params, "kind": kind, "id": scope_id})
    state = next((text for part, text in rows if int(part) == _STATE), None)
    if state is None:
        raise NotFound(f"unknown {kind} {scope_id}{q.then()}")
    return orjson.loads(state), days.summed_texts(
        text for part, text in rows if int(part) == _PERIOD)


def _figures_at(q: StateQuery, kind: str, scope_id: str) -> fig.Figures:
    """A scope's base sums where `_changes_sql` does not answer: now, or as of a position
    on a version written before `scope_changes`."""
    key = f"{kind}:{scope_id}"
    if q.at >= q.live:
        current = q.tx.execute(f"SELECT figures FROM {SCOPES.name(q.tag)} WHERE scope = ?",
                               (key,))
        now: fig.Figures = orjson.loads(current[0][0]) if current else {}
        return now
    return _figures_as_written(q, kind, key, scope_id)


CHANGES_SCHEMA = 3  # the grants projection's first schema with `scope_changes`


@functools.cache
def _changes_sql(tag: str, deltas: str) -> str:
    """A scope as of `:at`: its checkpoint at or before `:at`, the changes after that
    checkpoint up to `:at` (at most CHECKPOINT_EVERY) as one text (`deltas`: their deltas
    joined, `db.joined`), and last the scope's own state at `:at` (none: it did not
    exist); three index seeks."""
    return (
        f"WITH cp AS (SELECT position, figures FROM {CHECKPOINTS.name(tag)} "
        "WHERE scope = :key AND position <= :at ORDER BY position DESC LIMIT 1), "
        f"st AS (SELECT position, state FROM {HISTORY.name(tag)} WHERE kind = :kind "
        f"AND entity_id = :id AND position <= :at ORDER BY {LATEST_STATE} LIMIT 1) "
        f"SELECT {_CHECKPOINT}, position, figures FROM cp "
        f"UNION ALL SELECT {_CHANGE}, MAX(position), {deltas} "
        f"FROM {CHANGES.name(tag)} "
        "WHERE scope = :key AND position > (SELECT COALESCE(MAX(position), 0) FROM cp) "
        f"AND position <= :at UNION ALL SELECT {_STATE}, position, state FROM st "
        "ORDER BY 1, 2")


def _figures_as_written(q: StateQuery, kind: str, key: str, scope_id: str) -> fig.Figures:
    """As of `q.at` on a version written before `scope_changes` (schema < 3): the checkpoint
    plus the legs and application changes after it, as that version holds them."""
    column, on_leg, on_state = _SOURCES[kind]
    parts: dict[int, list[Any]] = {part: [] for part in _PARTS}
    for row in q.tx.execute(_as_of_sql(q.tag, column),
                            {"key": key, "scope_id": scope_id, "at": q.at}):
        parts[int(row[0])].append(row)
    if not parts[_SCOPE]:
        return {}
    if int(parts[_SCOPE][0][1]) <= q.at:  # the scope has not changed since `at`
        figures: fig.Figures = orjson.loads(parts[_SCOPE][0][2])
        return figures
    figures = orjson.loads(parts[_CHECKPOINT][0][2]) if parts[_CHECKPOINT] else {}
    for row in parts[_LEG]:
        on_leg(figures, fig.Leg(*row[4:]))
    states = {str(entity_id): orjson.loads(state) for _, _, entity_id, state, *_ in
              parts[_BEFORE]}
    for _, _, entity_id, state, *_ in parts[_CHANGE]:
        now = orjson.loads(state)
        fig.add_change(figures, on_state(states.get(entity_id)), on_state(now))
        states[entity_id] = now
    return figures


# The parts of the as-of statements, in the order of their rows (`_STATE`: the scope's own
# state, in `_changes_sql` and `_dated_scope`; `_PERIOD`: `_dated_scope` only).
_LEG, _SCOPE, _CHECKPOINT, _CHANGE, _BEFORE, _STATE, _PERIOD = range(7)
_PARTS = (_LEG, _SCOPE, _CHECKPOINT, _CHANGE, _BEFORE)


@functools.cache
def _as_of_sql(tag: str, column: str) -> str:
    """One statement for a scope as of `:at` (one round trip, not five): its current row,
    its checkpoint at or before `:at`, the legs and application changes after that
    checkpoint up to `:at` (in position order), and the state of each changed
    application at the checkpoint. Rows are (part, position, text, text, *leg); the leg
    branch comes first so PostgreSQL types the NULL columns of the others from it."""
    history, legs = HISTORY.name(tag), ENTRIES.column_names
    nulls = ", ".join("NULL" for _ in legs)
    start = "(SELECT position FROM start)"
    return (
        f"WITH cp AS (SELECT position, figures FROM {CHECKPOINTS.name(tag)} "
        "WHERE scope = :key AND position <= :at ORDER BY position DESC LIMIT 1), "
        "start AS (SELECT COALESCE(MAX(position), 0) AS position FROM cp), "
        f"changes AS (SELECT entity_id, position, state FROM {history} "
        f"WHERE kind = 'application' AND {column} = :scope_id AND position > {start} "
        "AND position <= :at) "
        f"SELECT {_LEG}, position, NULL, NULL, {', '.join(legs)} FROM {ENTRIES.name(tag)} "
        f"WHERE {column} = :scope_id AND position > {start} AND position <= :at "
        f"UNION ALL SELECT {_SCOPE}, position, figures, NULL, {nulls} FROM {SCOPES.name(tag)} "
        "WHERE scope = :key "
        f"UNION ALL SELECT {_CHECKPOINT}, position, figures, NULL, {nulls} FROM cp "
        f"UNION ALL SELECT {_CHANGE}, position, entity_id, state, {nulls} FROM changes "
        f"UNION ALL SELECT {_BEFORE}, h.position, h.entity_id, h.state, {nulls} "
        f"FROM {history} h WHERE h.kind = 'application' "
        "AND h.entity_id IN (SELECT entity_id FROM changes) "
        f"AND h.position = (SELECT MAX(p.position) FROM {history} p "
        f"WHERE p.kind = 'application' AND p.entity_id = h.entity_id AND p.position <= {start}) "
        "ORDER BY 1, 2")


def _entries(q: StateQuery, ranges: list[Range], *, sign: int, total: int, cursor: str | None,
             limit: int, listed: str) -> Json:
    """A page of the legs in `ranges`, merged in (position, leg) order; `listed` names the
    figure they are behind, so a cursor pages that figure's entries only."""
    limit = check_limit(limit)
    after = decode_cursor(cursor, listed)
    position, leg = 0, -1
    if after is not None:
        try:
            position, leg = (int(part) for part in after.split(":"))
        except ValueError:
            raise ValidationFailed("cursor: not a cursor from next_cursor") from None
    columns = ", ".join(ITEM_COLUMNS)
    on, dated = ("AND effective_date <= ?", [q.on]) if q.on is not None else ("", [])
    parts, params = [], []
    for n, (condition, values) in enumerate(ranges):
        parts.append(
            f"SELECT * FROM (SELECT {columns} FROM {ENTRIES.name(q.tag)} WHERE {condition} "
            f"AND position <= ? {on} AND (position, leg) > (?, ?) ORDER BY position, leg "
            f"LIMIT ?) r{n}")
        params += [*values, q.at, *dated, position, leg, limit + 1]
    rows = q.tx.execute(" UNION ALL ".join(parts) + " ORDER BY position, leg LIMIT ?",
                        [*params, limit + 1])
    items = []
    for row in rows[:limit]:
        item = dict(zip(ITEM_COLUMNS, row, strict=True))
        item["position"] = int(item["position"])
        item["amount"] = eur(sign * int(item["amount"]))
        items.append(item)
    next_cursor = (encode_cursor(f"{items[-1]['position']}:{items[-1]['leg']}", listed)
                   if len(rows) > limit else None)
    return {"items": items, "next_cursor": next_cursor, "total": eur(total), "position": q.at,
            **dated_on(q)}


def dated_on(q: StateQuery) -> Json:
    """The business-date cut-off of an answer, when it has one."""
    return {"effective_on": q.on} if q.on is not None else {}


# -- phase totals ------------------------------------------------------------------------------


def phase_answer(q: StateQuery, phase_id: str) -> Json:
    """A phase as its command answers it: its state, with what of the envelope is committed
    and available (as of `q.at`)."""
    s, f = scope_at(q, "phase", phase_id)
    money = fig.phase_figures(f)
    return {**s, "envelope": eur(s["envelope"]), "committed": eur(money["committed"]),
            "available": eur(money["available"]),
            "allow_award_above_request": bool(s.get("allow_award_above_request", False)),
            "position": q.at}


def phase_totals(q: StateQuery, phase_id: str) -> Json:
    _, f = scope_at(q, "phase", phase_id)
    items = sorted(f.items())
    kinds = sorted({key.partition("|")[0] for key, value in items
                    if value and key.endswith(("|legs", "|live"))})
    return {
        "phase_id": phase_id, "requested": eur(f.get("requested", 0)),
        **{name: eur(value) for name, value in fig.phase_figures(f).items()},
        "counts": {key[2:]: value for key, value in items if key.startswith("n|") and value},
        "by_kind": {kind: _kind_totals(f, kind) for kind in kinds},
        "requested_by_category": {key[2:]: eur(value) for key, value in items
                                  if key.startswith("c|") and f.get(f"cn|{key[2:]}")},
        "position": q.at, **dated_on(q),
    }


def _kind_totals(f: fig.Figures, kind: str) -> Json:
    """A phase's figures of one recipient kind (`by_kind`), as `fig.KIND_FIGURES` lists them."""
    figures = fig.phase_figures(f, f"{kind}|")
    figures["requested"] = f.get(f"{kind}|requested", 0)
    return {name: eur(figures[name]) for name in fig.KIND_FIGURES}


def phase_entries(q: StateQuery, phase_id: str, figure: str, *, cursor: str | None,
                  limit: int, recipient_kind: str | None = None) -> Json:
    """The legs behind a phase figure, or behind its cell of one recipient kind
    (`by_kind`): one index range per (account kind, class) of the figure."""
    _, figures = scope_at(q, "phase", phase_id)
    if recipient_kind is not None and recipient_kind not in RECIPIENT_KINDS:
        raise ValidationFailed(f"recipient_kind: one of {', '.join(RECIPIENT_KINDS)}")
    if figure == "requested":
        return _requested_entries(q, phase_id, figures, recipient_kind, cursor=cursor,
                                  limit=limit)
    definition = PHASE_FIGURES.get(figure)
    if definition is None:
        raise NotFound(f"unknown figure {figure}; one of requested, {', '.join(PHASE_FIGURES)}")
    prefix = f"{recipient_kind}|" if recipient_kind is not None else ""
    value = fig.phase_figures(figures, prefix)[figure]
    if recipient_kind is None:
        ranges = [("phase_id = ? AND account_kind = ? AND cls = ?", [phase_id, kind, cls])
                  for kind, cls in definition.pairs]
    else:  # the index (phase_id, recipient_kind, account_kind, cls, position, leg)
        ranges = [("phase_id = ? AND recipient_kind = ? AND account_kind = ? AND cls = ?",
                   [phase_id, recipient_kind, kind, cls]) for kind, cls in definition.pairs]
    page = _entries(q, ranges, sign=definition.sign, total=value, cursor=cursor, limit=limit,
                    listed=f"entries:{phase_id}:{figure}:{recipient_kind or ''}")
    return {**page, "recipient_kind": recipient_kind} if recipient_kind is not None else page


def _requested_entries(q: StateQuery, phase_id: str, figures: fig.Figures, kind: str | None,
                       *, cursor: str | None, limit: int) -> Json:
    """The Submitted or Amended event that set each live application's requested amount
    (of one recipient kind: the phase's applications read a chunk at a time, the others
    skipped, so a page costs at most the phase's applications). By business date, each
    application's requested amount by then (`_requested_on`)."""
    limit = check_limit(limit)
    listed = f"requested:{phase_id}:{kind or ''}"
    after = decode_cursor(cursor, listed)
    key = f"{kind}|requested" if kind is not None else "requested"
    total = figures.get(key, 0)
    found: list[tuple[Json, Json, int]] = []  # (state as of q.at, evidence, amount)
    size = limit + 1  # applications read at a time by business date: fourfold while too few
    while len(found) <= limit:
        if q.on is None:
            states = q.many("application", after=after, limit=limit + 1, phase_id=phase_id,
                            status_not="withdrawn")
            chunk = [(s, s["requested_by"], s["requested"]) for s in states]
            after = states[-1]["application_id"] if len(states) > limit else None
        elif total:
            chunk, after = _requested_on(q, phase_id, after, size)
            size = min(size * 4, 4096)
        else:
            # a figure of zero by then has no items: every application's amount by then
            # is zero (a withdrawal or an amendment never dated before what it changes, I14)
            break
        found += [item for item in chunk if kind is None or item[0]["recipient_kind"] == kind]
        if after is None:
            break
    items = [{"position": evidence["position"], "leg": None,
              "event_type": evidence["event_type"], "application_id": s["application_id"],
              "recipient_id": s["recipient_id"], "effective_date": evidence["effective_date"],
              "recorded_at": evidence["recorded_at"], "account": None, "amount": eur(amount)}
             for s, evidence, amount in found[:limit]]  # the fields of ITEM_COLUMNS
    next_cursor = encode_cursor(found[limit - 1][0]["application_id"], listed) if len(
        found) > limit else None
    return {"items": items, "next_cursor": next_cursor, "total": eur(total), "position": q.at,
            **({"recipient_kind": kind} if kind is not None else {})}


def _requested_on(q: StateQuery, phase_id: str, after: str | None, wanted: int
                  ) -> tuple[list[tuple[Json, Json, int]], str | None]:
    """The next `wanted` applications of the phase after `after`, in id order, whose
    requested amount by business date `q.on` (as recorded by `q.at`) is not zero: that
    amount, summed as the figure sums it (each change of the application's state counted
    on the effective date of the event that made it: its submission's, an amendment's, its
    withdrawal's), with the last submission or amendment effective by then as the
    evidence. Two statements: the applications' ids (the key of `entities`), then their
    history rows up to `q.at` (its key). The second value is the id to go on after when
    there may be more (an application submitted later, or withdrawn by then, is not
    listed, so a page may read on)."""
    wanted = min(wanted, values_per_statement(q.tx))
    ids = [str(entity_id) for (entity_id,) in q.tx.execute(
        f"SELECT entity_id FROM {ENTITIES.name(q.tag)} WHERE kind = 'application' "
        "AND phase_id = ? AND entity_id > ? ORDER BY entity_id LIMIT ?",
        (phase_id, after or "", wanted))]
    if not ids:
        return [], None
    condition, params = any_of(q.tx, "entity_id", ids)
    rows = q.tx.execute(
        f"SELECT entity_id, position, state FROM {HISTORY.name(q.tag)} "
        f"WHERE kind = 'application' AND {condition} AND position <= ? "
        "ORDER BY entity_id, position", (*params, q.at))
    on = str(q.on)
    found: list[tuple[Json, Json, int]] = []
    before = amount = 0  # what the previous state adds to `requested`; the sum by `on`
    evidence: Json | None = None
    for n, (entity_id, position, text) in enumerate(rows):
        s = orjson.loads(text)
        now = 0 if s["status"] == "withdrawn" else int(s["requested"])
        by = s["requested_by"]
        made_here = by["position"] == int(position)  # a submission or an amendment
        # only those and a withdrawal move `requested`
        if (by["effective_date"] if made_here else s["decided_on"]) <= on:
            amount += now - before
            if made_here:
                evidence = by
        before = now
        if n + 1 == len(rows) or rows[n + 1][0] != entity_id:
            if amount:
                found.append((s, evidence or by, amount))
            before = amount = 0
            evidence = None
    return found, (ids[-1] if len(ids) == wanted else None)


# -- reconciliation ---------------------------------------------------------------------------


def _budget_year(q: StateQuery, programme: Json, programme_id: str, year: int) -> Json:
    budget = programme["budgets"].get(str(year))
    if budget is None:
        raise NotFound(f"programme {programme_id} has no budget for {year}{q.then()}")
    return dict(budget)


def reconciliation(q: StateQuery, programme_id: str, year: int) -> Json:
    programme, base = scope_at(q, "programme", programme_id)
    budget = _budget_year(q, programme, programme_id, year)
    f = fig.year_figures(base, year)
    of_applications = base.get(f"app_paid|{year}", 0)
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
    status, closed_on = budget["status"], budget["closed_on"]
    if q.on is not None and closed_on is not None and closed_on > str(q.on):
        status, closed_on = "open", None  # closed after that business date: open then
    return {"programme_id": programme_id, "fiscal_year": year, **figures,
            "trial_balance": eur(f["trial_balance"]), "status": status,
            "closed_on": closed_on, "checks": checks,
            "balanced": all(c["holds"] for c in checks), "position": q.at, **dated_on(q)}


def _check(name: str, left: int, right: int) -> Json:
    return {"name": name, "left": eur(left), "right": eur(right), "holds": left == right}


def _year_ranges(programme_id: str, year: int, figure: str) -> tuple[int, list[Range]]:
    if figure == "trial_balance":
        return 1, [("programme_id = ?", [programme_id])]
    if figure in fig.YEAR_LEG_FIGURES:
        sign, source, pairs = fig.YEAR_LEG_FIGURES[figure]
        column = "fiscal_year" if source == "fy" else "effective_year"
        return sign, [(f"programme_id = ? AND {column} = ? AND account_kind = ? AND cls = ?",
                       [programme_id, year, kind, cls]) for kind, cls in pairs]
    sign, kind, cls, offset, fy_offset = fig.YEAR_ACCOUNT_FIGURES[figure]
    condition = "programme_id = ? AND account = ?"
    values: list[Any] = [programme_id, f"{kind}:{year + offset}"]
    if cls is not None:
        condition, values = condition + " AND cls = ?", [*values, cls]
    if fy_offset is not None:
        condition, values = condition + " AND fiscal_year = ?", [*values, year + fy_offset]
    return sign, [(condition, values)]


def reconciliation_entries(q: StateQuery, programme_id: str, year: int, figure: str, *,
                           cursor: str | None, limit: int) -> Json:
    programme, base = scope_at(q, "programme", programme_id)
    _budget_year(q, programme, programme_id, year)
    if figure not in RECONCILIATION_FIGURES:
        raise NotFound(f"unknown figure {figure}; one of {', '.join(RECONCILIATION_FIGURES)}")
    value = fig.year_figures(base, year)[figure]
    sign, ranges = _year_ranges(programme_id, year, figure)
    return _entries(q, ranges, sign=sign, total=value, cursor=cursor, limit=limit,
                    listed=f"entries:{programme_id}:{year}:{figure}")
