"""The grants projection: entity states and their history, ledger entries, and running figures.

Tables, written in one transaction per batch:

- `entities` / `entity_history`: the state of each programme, phase, recipient and
  application (JSON, money in cents), current and at every position it changed;
- `entries`: one row per leg of every posting (source leg negative, target leg
  positive), tagged with programme, fiscal year, phase, application, recipient kind
  and a class (projections.figures): the evidence behind every figure;
- `scopes` / `checkpoints` / `scope_changes`: the running base sums of each phase and
  programme (projections.figures), current, every `CHECKPOINT_EVERY` changes of the
  scope, and what each event changed of them (a few keys);
- `accounts` / `account_marks`: every account's balance (projections/balances.py);
- `days`, `day_history`, `months`, `month_history`: the same running sums split by
  effective date and by its month, for figures by business date (projections/days.py);
- `account_days`, `account_day_history`: every account's legs summed per effective
  date, for balances by business date (projections/account_days.py).

So a figure now is one row, and a figure as of position n is the checkpoint at or
before n plus the changes after it up to n — at most `CHECKPOINT_EVERY` small rows,
one index range: time independent of the log's size (projections/totals.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from projections import account_days, balances, days, lookups
from projections import figures as fig
from projections.base import Table
from projections.db import Tx, any_of, chunks
from projections.entities import HANDLERS, Entity
from projections.events import LoggedEvent, cents

CHECKPOINT_EVERY = 32  # changes of a scope (or legs of an account) between checkpoints

STATE_COLUMNS = (
    ("kind", "TEXT NOT NULL"),
    ("entity_id", "TEXT NOT NULL"),
    ("position", "BIGINT NOT NULL"),
    ("programme_id", "TEXT"),
    ("phase_id", "TEXT"),
    ("recipient_id", "TEXT"),
    ("fiscal_year", "INTEGER"),
    ("status", "TEXT"),
    ("state", "TEXT NOT NULL"),
)
ENTITIES = Table(
    "entities",
    (("originator_id", "TEXT NOT NULL"), *STATE_COLUMNS),
    key=("originator_id",),
    indexes=(("kind", "entity_id"), ("kind", "phase_id", "entity_id"),
             ("kind", "recipient_id", "entity_id"), ("kind", "programme_id", "entity_id"),
             # a list's total by status, alone or in a phase (GET /applications)
             ("kind", "status", "entity_id"), ("kind", "phase_id", "status", "entity_id")),
)
HISTORY = Table(
    "entity_history",
    STATE_COLUMNS,
    key=("kind", "entity_id", "position"),
    indexes=(("kind", "phase_id", "position"), ("kind", "programme_id", "position"),
             ("kind", "recipient_id"), ("kind", "phase_id", "entity_id")),
    appended=True,
)
ENTRIES = Table(
    "entries",
    (
        ("position", "BIGINT NOT NULL"),
        ("leg", "INTEGER NOT NULL"),
        ("recorded_at", "TEXT NOT NULL"),
        ("effective_date", "TEXT NOT NULL"),
        ("effective_year", "INTEGER NOT NULL"),
        ("event_type", "TEXT NOT NULL"),
        ("cls", "TEXT NOT NULL"),
        ("programme_id", "TEXT NOT NULL"),
        ("fiscal_year", "INTEGER"),
        ("phase_id", "TEXT"),
        ("application_id", "TEXT"),
        ("recipient_id", "TEXT"),
        ("recipient_kind", "TEXT"),
        ("account", "TEXT NOT NULL"),
        ("account_kind", "TEXT NOT NULL"),
        ("account_year", "INTEGER"),
        ("amount", "BIGINT NOT NULL"),
    ),
    key=("position", "leg"),
    # One index per kind of range a figure or its drill-down reads (projections/totals.py).
    indexes=(("phase_id", "position", "leg"),
             ("phase_id", "account_kind", "cls", "position", "leg"),
             ("programme_id", "position", "leg"),
             ("programme_id", "fiscal_year", "account_kind", "cls", "position", "leg"),
             ("programme_id", "effective_year", "account_kind", "cls", "position", "leg"),
             ("programme_id", "account", "position", "leg"),
             ("application_id", "effective_date", "position"),
             # appended, never inserted: an index is named by its place (`_i{n}`), and a
             # start adds a new one to the live tables (CREATE INDEX IF NOT EXISTS)
             ("phase_id", "recipient_kind", "account_kind", "cls", "position", "leg")),
    appended=True,
)
SCOPES = Table(
    "scopes",
    (("scope", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"),
     ("pending", "INTEGER NOT NULL"), ("figures", "TEXT NOT NULL")),
    key=("scope",),
)
CHECKPOINTS = Table(
    "checkpoints",
    (("scope", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"), ("figures", "TEXT NOT NULL")),
    key=("scope", "position"),
    appended=True,
)
# What one event changed of a scope's base sums (only the keys it moved): a checkpoint plus
# these up to n is the scope as of n. Schema 3 (projections/totals.py reads older versions
# the way they were written).
CHANGES = Table(
    "scope_changes",
    (("scope", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL"), ("delta", "TEXT NOT NULL")),
    key=("scope", "position"),
    appended=True,
)


def state_json(state: dict[str, Any]) -> str:
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS).decode()


def entity_columns(entity: Entity) -> tuple[Any, ...]:
    s = entity.state
    return (entity.kind, entity.entity_id, entity.position, s.get("programme_id"),
            s.get("phase_id"), s.get("recipient_id"), s.get("fiscal_year"), s.get("status"),
            state_json(s))


class Scope:
    """A phase's or programme's running base sums, and how many changes since a checkpoint."""

    __slots__ = ("figures", "key", "pending", "position")

    def __init__(self, key: str, position: int = 0, pending: int = 0,
                 figures: fig.Figures | None = None) -> None:
        self.key, self.position, self.pending = key, position, pending
        self.figures: fig.Figures = figures if figures is not None else {}

    def row(self) -> tuple[Any, ...]:
        return (self.key, self.position, self.pending, state_json(self.figures))


class GrantsProjection:
    name: str = "grants"
    # 6: a year closed without a carry-over no longer lists the next year (zeros, which
    # the write side does not budget) in the programme's state; a recipient id is
    # searchable by each of its words ('r-aud-1'); replay for both.
    # 5: `lookup` keys in every spelling ("büdingen", "budingen", "buedingen"); a version
    # 4 store is brought to 5 in place at start (read_models.fill_lookups).
    # 4: `months` (figures by business date read months and days, not every day).
    # 3: `scope_changes` (as-of figures read them; older versions answer as they were
    # written, from legs and application states). 2: `account_days`, and `days` filled
    # from the start of the log (a store upgraded to the release that added `days` got
    # them empty, filled only from the events after the upgrade). 1: before either.
    # A version of an older schema answers as it was written; below 2 it refuses dated
    # questions (projections/read_models.py).
    schema_version: int = 6
    tables: tuple[Table, ...] = (ENTITIES, HISTORY, ENTRIES, SCOPES, CHECKPOINTS, CHANGES,
                                 *balances.TABLES, *days.TABLES, lookups.LOOKUP,
                                 *account_days.TABLES)

    def apply(self, tx: Tx, tag: str, events: Sequence[LoggedEvent]) -> None:
        entities = _load_entities(tx, tag, {e.originator_id for e in events})
        scopes: dict[str, Scope] = {}
        latest: dict[str, tuple[Any, ...]] = {}
        history: list[tuple[Any, ...]] = []
        legs: list[fig.Leg] = []
        checkpoints: list[tuple[Any, ...]] = []
        day_changes: list[days.Change] = []
        scope_changes: list[tuple[Any, ...]] = []
        for e in events:
            handler = HANDLERS.get((e.aggregate, e.event_type))
            if handler is None:
                continue
            before = entities.get(e.originator_id)
            old = before.state if before is not None and before.kind == "application" else None
            was_phase, was_programme = fig.phase_state(old), fig.programme_state(old)
            entity = handler(before, e)
            entity.position = e.position
            entities[e.originator_id] = entity
            row = entity_columns(entity)
            history.append(row)
            latest[e.originator_id] = row
            # what this event adds to each scope, and how many legs and state changes
            # (an as-of answer replays at most CHECKPOINT_EVERY of them after a checkpoint)
            deltas: dict[str, fig.Figures] = {}
            changes: dict[str, int] = {}
            if entity.kind == "application":
                s = entity.state
                for key, was, now in (
                    (f"phase:{s['phase_id']}", was_phase, fig.phase_state(s)),
                    (f"programme:{s['programme_id']}", was_programme, fig.programme_state(s)),
                ):
                    fig.add_change(deltas.setdefault(key, {}), was, now)
                    changes[key] = changes.get(key, 0) + 1
            for leg in _legs(entity, e):
                fig.check_leg(leg)
                legs.append(leg)
                key = f"programme:{leg.programme_id}"
                fig.programme_leg(deltas.setdefault(key, {}), leg)
                changes[key] = changes.get(key, 0) + 1
                if leg.phase_id is not None:
                    key = f"phase:{leg.phase_id}"
                    fig.phase_leg(deltas.setdefault(key, {}), leg)
                    changes[key] = changes.get(key, 0) + 1
            for key, delta in deltas.items():
                scope = _scope(tx, tag, scopes, key)
                for name, amount in delta.items():
                    fig.add(scope.figures, name, amount)
                scope.position = e.position
                scope.pending += changes[key]
                if scope.pending >= CHECKPOINT_EVERY:
                    checkpoints.append((scope.key, e.position, state_json(scope.figures)))
                    scope.pending = 0
                if delta:
                    day_changes.append((key, e.effective_date, e.position, delta))
                    scope_changes.append((key, e.position, state_json(delta)))
        tx.insert_rows(HISTORY.name(tag), HISTORY.column_names, history)
        tx.insert_rows(ENTRIES.name(tag), ENTRIES.column_names, legs)
        tx.insert_rows(CHECKPOINTS.name(tag), CHECKPOINTS.column_names, checkpoints)
        tx.insert_rows(CHANGES.name(tag), CHANGES.column_names, scope_changes)
        tx.upsert_rows(ENTITIES.name(tag), ENTITIES.column_names, "originator_id",
                       ("position", "status", "state"),
                       [(oid, *row) for oid, row in latest.items()])
        tx.upsert_rows(SCOPES.name(tag), SCOPES.column_names, "scope",
                       ("position", "pending", "figures"), [s.row() for s in scopes.values()])
        balances.apply_legs(tx, tag, legs)
        account_days.apply_legs(tx, tag, legs)
        days.apply_changes(tx, tag, day_changes)
        lookups.apply(tx, tag, events)


def _scope(tx: Tx, tag: str, scopes: dict[str, Scope], key: str) -> Scope:
    scope = scopes.get(key)
    if scope is None:
        rows = tx.execute(f"SELECT position, pending, figures FROM {SCOPES.name(tag)} "
                          "WHERE scope = ?", (key,))
        scope = (Scope(key, int(rows[0][0]), int(rows[0][1]), orjson.loads(rows[0][2]))
                 if rows else Scope(key))
        scopes[key] = scope
    return scope


def _load_entities(tx: Tx, tag: str, ids: set[str]) -> dict[str, Entity]:
    found: dict[str, Entity] = {}
    for chunk in chunks(tx, ids):
        condition, params = any_of(tx, "originator_id", chunk)
        for oid, kind, entity_id, position, state in tx.execute(
            f"SELECT originator_id, kind, entity_id, position, state FROM {ENTITIES.name(tag)} "
            f"WHERE {condition}", params,
        ):
            found[str(oid)] = Entity(str(kind), str(entity_id), orjson.loads(state), int(position))
    return found


def _legs(entity: Entity, e: LoggedEvent) -> list[fig.Leg]:
    postings = e.postings()
    if not postings:
        return []
    s = entity.state
    is_application = entity.kind == "application"
    programme_id = s["programme_id"]
    fiscal_year = s["fiscal_year"] if is_application else e.field("fiscal_year")
    phase_id = s["phase_id"] if is_application else e.field("phase_id")
    application_id = s["application_id"] if is_application else None
    recipient_id = s["recipient_id"] if is_application else None
    recipient_kind = s["recipient_kind"] if is_application else None
    cls = fig.CLASS_OF_EVENT.get(e.event_type)
    if cls is None:
        raise LookupError(f"{e.event_type} at {e.position} posts money: no figure knows it")
    effective_year = int(e.effective_date[:4])
    rows = []
    for n, posting in enumerate(postings):
        amount = cents(posting["amount"])
        for leg, account, signed in ((2 * n, posting["source"], -amount),
                                     (2 * n + 1, posting["target"], amount)):
            account_kind, _, rest = account.partition(":")
            account_year = int(rest) if account_kind in fig.YEAR_ACCOUNTS else None
            rows.append(fig.Leg(e.position, leg, e.recorded_at, e.effective_date,
                                effective_year, e.event_type, cls, programme_id, fiscal_year,
                                phase_id, application_id, recipient_id, recipient_kind,
                                account, account_kind, account_year, signed))
    return rows
