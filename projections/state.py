"""Current-state answers (applications, programmes, phases, recipients), as of a position.

At the projection's own position the `entities` table answers directly; for
an earlier position the latest `entity_history` row at or before it does, so
an as-of answer is, by construction, what the live table said then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ledger.errors import NotFound
from projections import lookups
from projections.db import Tx, any_of, chunks
from projections.entities import HANDLERS, Entity
from projections.events import LoggedEvent, eur
from projections.grants import ENTITIES, ENTRIES, HISTORY

Json = dict[str, Any]
FILTERS = ("programme_id", "phase_id", "recipient_id", "fiscal_year", "status")
APPLICATION_STATUSES = ("submitted", "approved", "rejected", "withdrawn", "closed", "revoked")


@functools.cache
def current_sql(tag: str) -> str:
    """A state now and the position of the version `tag` it is at, in one statement
    (no row: no such version; a NULL state: no such entity)."""
    return (f"SELECT t.position, e.state FROM proj_tracking t LEFT JOIN {ENTITIES.name(tag)} e "
            "ON e.kind = ? AND e.entity_id = ? WHERE t.projection = ? AND t.tag = ?")


# The order of an entity's last state at or before a position: the history's primary key
# backwards, whole. With only `position DESC`, PostgreSQL planned a phase's or programme's
# seek on the secondary index (kind, phase_id, entity_id) and sorted: every row of the kind
# read, where the key reads one.
LATEST_STATE = "kind DESC, entity_id DESC, position DESC"
_LATEST_OF_H = ", ".join(f"h.{key}" for key in LATEST_STATE.split(", "))  # of a row `h`
MAX_CHUNK = 25_600  # rows of a list as of a position read at once (StateQuery._many_as_of)
RARE = 8  # a status under one in RARE of the rows walked is read from its history rows


def as_of_note(at: int, live: int) -> str:
    """For a message that something is unknown: " as of position n" when the question
    is about an earlier position (it may exist now), else nothing."""
    return f" as of position {at}" if at < live else ""


class StateQuery:
    """Reads entity states of one version (`tag`) as of `at`; `live` is its tracking position.
    `on` (an ISO date) keeps the figures to events effective on or before it; `schema` is
    the version's schema (GrantsProjection.schema_version when it was written)."""

    def __init__(self, tx: Tx, tag: str, *, at: int, live: int, on: str | None = None,
                 schema: int) -> None:
        self.tx, self.tag, self.at, self.live, self.on = tx, tag, at, live, on
        self.schema = schema
        # how many lookup rows each search term matches (lookups.matching), kept for the
        # question's next statement: a page, then its count
        self._term_sizes: dict[tuple[str, lookups.Term], int] = {}

    def one(self, kind: str, entity_id: str) -> Json | None:
        rows = self.tx.execute(self.one_sql(), {"kind": kind, "id": entity_id, "at": self.at})
        return orjson.loads(rows[0][0]) if rows else None

    def one_sql(self) -> str:
        """The statement of `one` (its state, or no row), with named parameters `:kind`,
        `:id` and `:at`: now, the entity's row; as of an earlier position, the last of its
        history at or before it."""
        if self.at >= self.live:
            return (f"SELECT state FROM {ENTITIES.name(self.tag)} "
                    "WHERE kind = :kind AND entity_id = :id")
        return (f"SELECT state FROM {HISTORY.name(self.tag)} WHERE kind = :kind "
                f"AND entity_id = :id AND position <= :at ORDER BY {LATEST_STATE} LIMIT 1")

    def many(
        self, kind: str, *, after: str | None = None, limit: int | None = None,
        status_not: str | None = None, search: Sequence[lookups.Term] = (), **filters: Any
    ) -> list[Json]:
        if self.at < self.live:
            fixed = {column: value for column, value in filters.items() if column != "status"}
            where, params = self._conditions(kind, None, search, fixed)
            walked = self._many_as_of(where, params, after=after, limit=limit,
                                      status_not=status_not, status=filters.get("status"))
            if walked is not None:
                return walked
            # A status rare among the rows of the first chunk: the history rows of that
            # status, each checked to be its entity's last at or before the position (few
            # to read, where walking on would seek every row of the list).
        table, where, params = self._where(kind, status_not, search, filters)
        if after is not None:
            where.append("t.entity_id > :after")
            params["after"] = after
        sql = (f"SELECT t.state FROM {table} t WHERE {' AND '.join(where)} "
               "ORDER BY t.entity_id")
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [orjson.loads(state) for (state,) in self.tx.execute(sql, params)]

    def _many_as_of(self, where: list[str], params: dict[str, Any], *, after: str | None,
                    limit: int | None, status_not: str | None, status: str | None
                    ) -> list[Json] | None:
        """A list's states as of `at`: today's rows in id order, a chunk at a time, on
        what never changes (`where`: kind, ids, fiscal year, a search's names), each with
        the position of its last history row at or before `at` (a seek of the history's
        key); the state is read only for a row that existed then (of `status`, and not of
        `status_not`). A chunk grows fourfold while it finds too few (a position when few
        of today's rows existed). Reading the whole list's history first (each row's
        `MAX(position)`) took 1.5-3.3 s for any page of a 12,000-application phase of the
        1M bench log; its 1,000 approved applications as of a position 1.2 s, walked 0.2 s.

        None when `status` is rare (under one in RARE of a full first chunk's rows):
        reading that status's history rows is then cheaper than walking on. (Going on
        from the rows walked, the history read after an id took the history's key in id
        order on PostgreSQL: 2-8 s on the 1M bench log, where from the start 0.36 s.)"""
        history = HISTORY.name(self.tag)
        not_of = " AND h.status <> :status_not" if status_not is not None else ""
        if status is not None:
            not_of += " AND h.status = :status"
        # OFFSET 0: PostgreSQL keeps the position's seek a column of its own (no state
        # where none: a row that did not exist yet)
        fence = " OFFSET 0" if self.tx.dialect == "postgresql" else ""
        rows = (f"SELECT x.entity_id, (SELECT h.state FROM {history} h WHERE h.kind = x.kind "
                f"AND h.entity_id = x.entity_id AND h.position = x.found{not_of}) "
                "FROM (SELECT t.kind, t.entity_id, "
                f"(SELECT h.position FROM {history} h WHERE h.kind = t.kind "
                "AND h.entity_id = t.entity_id AND h.position <= :at "
                f"ORDER BY {_LATEST_OF_H} LIMIT 1) AS found "
                f"FROM (SELECT t.kind, t.entity_id FROM {ENTITIES.name(self.tag)} t "
                f"WHERE {' AND '.join([*where, 't.entity_id > :after'])} "
                f"ORDER BY t.entity_id{' LIMIT :chunk' if limit is not None else ''}) t"
                f"{fence}) x ORDER BY x.entity_id")
        chunk = read_first = max(100, limit + 1) if limit is not None else None
        params = {**params, "after": after or "", "chunk": chunk,
                  **({"status_not": status_not} if status_not is not None else {}),
                  **({"status": status} if status is not None else {})}
        found: list[Json] = []
        while True:
            read = self.tx.execute(rows, params)
            for _, state in read:
                if state is not None:
                    found.append(orjson.loads(state))
                    if limit is not None and len(found) == limit:
                        return found
            if chunk is None or len(read) < chunk:
                return found
            if status is not None and len(found) * RARE < len(read) and chunk == read_first:
                return None
            params["after"] = str(read[-1][0])
            chunk = params["chunk"] = min(chunk * 4, MAX_CHUNK)

    def count(self, kind: str, *, search: Sequence[lookups.Term] = (), **filters: Any) -> int:
        """How many `many` would answer without `after` and `limit` (a list's `total`).

        As of an earlier position on PostgreSQL, the latest history row of each entity
        comes from one ordered pass over the history's key (`DISTINCT ON`), the filters
        on what never changes (the ids, the fiscal year, a search's names and
        references) inside it and the status outside: a seek per history row (`many`'s
        correlated MAX) took 9 s to count a search matching 140,000 applications of the
        1M bench log, this 1.2 s."""
        if self.at >= self.live or self.tx.dialect != "postgresql":
            table, where, params = self._where(kind, None, search, filters, counting=True)
            return int(self.tx.execute(
                f"SELECT COUNT(*) FROM {table} t WHERE {' AND '.join(where)}", params)[0][0])
        status = filters.pop("status", None)
        inner, params = self._conditions(kind, None, search, filters, counting=True)
        latest = (f"SELECT DISTINCT ON (t.entity_id) t.status FROM {HISTORY.name(self.tag)} t "
                  f"WHERE {' AND '.join(inner)} AND t.position <= :at "
                  "ORDER BY t.entity_id, t.position DESC")
        outer = ""
        if status is not None:
            outer, params["status"] = " WHERE x.status = :status", status
        return int(self.tx.execute(f"SELECT COUNT(*) FROM ({latest}) x{outer}", params)[0][0])

    def _where(self, kind: str, status_not: str | None, search: Sequence[lookups.Term],
               filters: dict[str, Any], *, counting: bool = False
               ) -> tuple[str, list[str], dict[str, Any]]:
        where, params = self._conditions(kind, status_not, search, filters, counting=counting)
        if self.at >= self.live:
            return ENTITIES.name(self.tag), where, params
        table = HISTORY.name(self.tag)
        where.append(
            f"t.position = (SELECT MAX(h.position) FROM {table} h WHERE h.kind = t.kind "
            "AND h.entity_id = t.entity_id AND h.position <= :at)"
        )
        return table, where, params

    def _conditions(self, kind: str, status_not: str | None, search: Sequence[lookups.Term],
                    filters: dict[str, Any], *, counting: bool = False
                    ) -> tuple[list[str], dict[str, Any]]:
        """The conditions on a row `t` of the entities or their history, and their
        parameters (`:at` among them); `counting`: for a count, which reads every row
        that matches (lookups.matching)."""
        where = ["t.kind = :kind"]
        params: dict[str, Any] = {"kind": kind, "at": self.at}
        if status_not is not None:
            where.append("t.status <> :status_not")
            params["status_not"] = status_not
        for column, value in filters.items():
            if value is not None:
                assert column in FILTERS
                where.append(f"t.{column} = :{column}")
                params[column] = value
        where.extend(lookups.matching(self.tx, self.tag, kind, search, params,
                                      entities_table=ENTITIES.name(self.tag),
                                      probe_all=not counting, sizes=self._term_sizes))
        return where, params

    def then(self) -> str:
        return as_of_note(self.at, self.live)

    def require(self, kind: str, entity_id: str) -> Json:
        state = self.one(kind, entity_id)
        if state is None:
            raise NotFound(f"unknown {kind} {entity_id}{self.then()}")
        return state


# -- answers -----------------------------------------------------------------------------------


def application_json(s: Json, position: int) -> Json:
    outstanding = s["awarded"] - s["released"] - s["paid"]
    return {
        "application_id": s["application_id"], "programme_id": s["programme_id"],
        "phase_id": s["phase_id"], "fiscal_year": s["fiscal_year"],
        "recipient_id": s["recipient_id"], "recipient_kind": s["recipient_kind"],
        "status": s["status"], "requested": eur(s["requested"]), "awarded": eur(s["awarded"]),
        "paid": eur(s["paid"]), "repaid": eur(s["repaid"]),
        "net_paid": eur(s["paid"] - s["repaid"]), "released": eur(s["released"]),
        "outstanding": eur(outstanding), "reference": s["reference"],
        "submitted_on": s["submitted_on"], "decided_on": s["decided_on"],
        "decision_reference": s["decision_reference"], "closed_on": s["closed_on"],
        "measures": [{**m, "amount": eur(m["amount"])} for m in s["measures"]],
        "drawdowns": [{**d, "amount": eur(d["amount"])} for d in s["drawdowns"]],
        "proofs_of_use": [{**p, "spent_amount": eur(p["spent_amount"])}
                          for p in s["proofs_of_use"]],
        "position": position,
    }


def programme_json(q: StateQuery, programme_id: str) -> Json:
    return programme_answer(q.require("programme", programme_id), q.at)


def programme_answer(s: Json, position: int) -> Json:
    budgets = []
    for year in sorted(s["budgets"].values(), key=lambda y: y["fiscal_year"]):
        unallocated = (year["appropriation"] + year["carried_in"] - year["funded"]
                       - year["direct"] - year["lapsed"] - year["carried_out"])
        budgets.append({
            "fiscal_year": year["fiscal_year"], "appropriation": eur(year["appropriation"]),
            "carried_in": eur(year["carried_in"]), "funded_to_phases": eur(year["funded"]),
            "direct_expenditure": eur(year["direct"]), "lapsed": eur(year["lapsed"]),
            "carried_out": eur(year["carried_out"]), "unallocated": eur(unallocated),
            "status": year["status"], "closed_on": year["closed_on"],
        })
    return {"programme_id": s["programme_id"], "name": s["name"], "funder": s["funder"],
            "budgets": budgets, "phases": list(s["phases"]), "position": position}


def recipient_json(q: StateQuery, recipient_id: str) -> Json:
    return {**q.require("recipient", recipient_id), "position": q.at}


# An application's events at the given positions of the log, in the order recorded.
EventReader = Callable[[Sequence[int]], list[LoggedEvent]]

STATEMENT_FIGURES = ("requested", "awarded", "paid", "repaid", "net_paid", "balance")


def recipient_statement(q: StateQuery, recipient_id: str, *,
                        read_events: EventReader | None = None) -> Json:
    """Each application's figures; `balance` is what is still to be paid (awarded −
    released − paid), `net_paid` what the recipient has kept (paid − repaid); the
    totals' `requested` leaves withdrawn applications out, as phase totals do. By business
    date (`q.on`), each application as its events effective on or before it left it (its
    state after the last of them; none yet: not listed), its money from those events'
    legs; `read_events` reads an application's events from the log, by position."""
    recipient = q.require("recipient", recipient_id)
    rows = []
    totals = dict.fromkeys(STATEMENT_FIGURES, 0)
    dated: dict[str, Json] = {}
    if q.on is not None:
        if read_events is None:
            raise ValueError("a statement by business date needs to read the log")
        dated = _dated(q, _states_on(q, read_events, recipient_id=recipient_id))
    for now in q.many("application", recipient_id=recipient_id):
        s = now if q.on is None else dated.get(now["application_id"])
        if s is None:
            continue  # submitted after that business date
        figures = {"requested": s["requested"], "awarded": s["awarded"],
                   "paid": s["paid"], "repaid": s["repaid"],
                   "net_paid": s["paid"] - s["repaid"],
                   "balance": s["awarded"] - s["released"] - s["paid"]}
        for name, value in figures.items():
            # `requested` totals the applications not withdrawn, as a phase's does (SPEC §5)
            if name != "requested" or s["status"] != "withdrawn":
                totals[name] += value
        rows.append({"application_id": s["application_id"], "phase_id": s["phase_id"],
                     "programme_id": s["programme_id"], "status": s["status"],
                     **{name: eur(value) for name, value in figures.items()}})
    return {**recipient, "applications": rows,
            "totals": {name: eur(value) for name, value in totals.items()}, "position": q.at,
            **({"effective_on": q.on} if q.on is not None else {})}


def applications_on(q: StateQuery, application_ids: Sequence[str],
                    read_events: EventReader) -> dict[str, Json]:
    """The states of `application_ids` by business date (`q.on`): each as its events
    effective on or before it (and recorded at or before `q.at`) left it, its money
    (`awarded`, `released`, `paid`, `repaid`) from those events' legs, as the recipient
    statement by date counts it. An application submitted after the date, or unknown,
    is not among them. Two reads of the read model and one of the log for as many as one
    statement takes (`values_per_statement`: 500 on SQLite)."""
    if q.on is None:
        raise ValueError("applications_on needs a business date")
    found: dict[str, Json] = {}
    for chunk in chunks(q.tx, set(application_ids)):
        found.update(_dated(q, _states_on(q, read_events, application_ids=chunk)))
    return found


def _dated(q: StateQuery, states: dict[str, Json]) -> dict[str, Json]:
    """`states` (folded by business date) with their money from the legs by then."""
    money = _money_on(q, list(states))
    none = {"awarded": 0, "released": 0, "paid": 0, "repaid": 0}
    return {application_id: {**s, **money.get(application_id, none)}
            for application_id, s in states.items()}


def _states_on(q: StateQuery, read_events: EventReader, *, recipient_id: str | None = None,
               application_ids: Sequence[str] = ()) -> dict[str, Json]:
    """The applications of a recipient (or those of `application_ids`) as their events
    effective on or before `q.on` (and recorded at or before `q.at`) leave them: those
    events folded in the order they were recorded, as the figures by business date count
    them — not a state recorded after them, which may hold changes dated later (a
    revocation dated after the date, seen through a repayment dated before it and
    recorded after). An application submitted after the date is not among them. One
    read of the history and one of the log for all of them."""
    if recipient_id is not None:
        rows = q.tx.execute(
            f"SELECT entity_id, position FROM {HISTORY.name(q.tag)} WHERE kind = "
            "'application' AND recipient_id = ? AND position <= ?", (recipient_id, q.at))
    elif application_ids:
        among, params = any_of(q.tx, "entity_id", application_ids)
        rows = q.tx.execute(
            f"SELECT entity_id, position FROM {HISTORY.name(q.tag)} WHERE kind = "
            f"'application' AND {among} AND position <= ?", (*params, q.at))
    else:
        return {}
    of = {int(position): str(entity_id) for entity_id, position in rows}
    entities: dict[str, Entity] = {}
    for e in read_events(sorted(of)):
        handler = HANDLERS.get((e.aggregate, e.event_type))
        if handler is None or e.effective_date > str(q.on):
            continue
        application_id = of[e.position]
        before = entities.get(application_id)
        if before is None and e.originator_version != 1:
            continue  # its submission is dated later (a log from before I14 held it)
        entities[application_id] = handler(before, e)
    return {application_id: entity.state for application_id, entity in entities.items()}


def _money_on(q: StateQuery, application_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Applications' money from their legs effective on or before `q.on` (few legs each;
    the index on application_id, effective_date)."""
    sums: dict[str, dict[tuple[str, str], int]] = {}
    for chunk in chunks(q.tx, set(application_ids)):
        among, params = any_of(q.tx, "application_id", chunk)
        rows = q.tx.execute(
            f"SELECT application_id, account_kind, cls, SUM(amount) "
            f"FROM {ENTRIES.name(q.tag)} WHERE {among} AND effective_date <= ? "
            "AND position <= ? GROUP BY application_id, account_kind, cls",
            (*params, q.on, q.at))
        for application_id, kind, cls, total in rows:
            sums.setdefault(str(application_id), {})[(str(kind), str(cls))] = int(total)
    return {application_id: {"awarded": -of.get(("phase", "award"), 0),
                             "released": of.get(("phase", "release"), 0),
                             "paid": of.get(("paid", "paid"), 0),
                             "repaid": -of.get(("paid", "repay"), 0)}
            for application_id, of in sums.items()}
