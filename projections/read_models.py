"""The read side's public surface: `ReadModelsImpl` (projections.interface.ReadModels),
its factory and the replay entry point used by scripts/."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import orjson
import structlog

from ledger import Ledger, Settings
from ledger.errors import NotFound, ProjectionOutdated, ValidationFailed
from ledger.persistence.log import fields_decoder
from projections import accounts as account_pages
from projections import base, days, lists, lookups, state, totals
from projections.answers import Answers, asked, kept
from projections.audit import AuditProjection, last_recorded, query_audit
from projections.base import Projection
from projections.db import Database, Tx
from projections.events import LoggedEvent, data_of, decode
from projections.grants import ENTITIES, HISTORY
from projections.leader import held_query, leadership_for
from projections.rebuild import VerifyProgress, VerifyReport, next_version, rebuild, verify
from projections.runner import REBUILD_FROM, Progress, Runner, wait_until
from projections.state import StateQuery
from projections.status import ensure_status_table, live_status

Json = dict[str, Any]
log = structlog.get_logger("projections")


def all_projections() -> tuple[Projection, ...]:
    from projections.grants import GrantsProjection

    return (AuditProjection(), GrantsProjection())


class ReadModelsImpl:
    """Answers every query from the live version of the tables, as of a position."""

    def __init__(self, db: Database, runner: Runner, *, keep_answers: bool = False) -> None:
        self.db = db
        self.runner = runner
        # Current answers kept until the projections move on (projections/answers.py).
        self.answers = Answers(db) if keep_answers else None
        self._schemas: dict[tuple[str, str], int] = {}  # (projection, tag) → its version

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()

    def close(self) -> None:
        self.runner.stop()
        if self.answers is not None:
            self.answers.close()
        self.db.close()

    @property
    def seeks_on_loop(self) -> bool:
        """True where seeks (`_read(..., seeks=True)`) may be awaited on an event loop
        (projections/bridge.py): PostgreSQL."""
        return self.db.dialect == "postgresql"

    async def aclose(self) -> None:
        """Closes what was opened on the API's event loop (the async seek pool)."""
        await self.db.aclose()

    async def prepare(self) -> None:
        """What a served app's first requests would otherwise wait for, done before it
        accepts a connection: the seek pools opened (`Database.open_seeks`) and each live
        version's schema read (`_read` records it), so that the first answers as of a
        position are seeks on the event loop rather than a snapshot in a thread."""
        await self.db.open_seeks()
        await asyncio.to_thread(self._know_versions)

    def _know_versions(self) -> None:
        for name in self.runner.projections:
            with contextlib.suppress(LookupError), self._read(name, None):
                pass  # (no live version yet: a new store, the first request reads it)

    def catch_up(self, *, progress: Progress | None = None) -> int:
        return self.runner.catch_up(progress=progress)

    def replay(self, names: list[str] | None = None, *, progress: Progress | None = None
               ) -> tuple[int, float]:
        return rebuild(self.runner, names, progress=progress)

    def verify(self, *, progress: VerifyProgress | None = None,
               locked: bool = False) -> VerifyReport:
        return verify(self.runner, progress=progress, locked=locked)

    # -- positions ------------------------------------------------------------------

    def position(self) -> int:
        return min(self.positions().values())

    def positions(self) -> dict[str, int]:
        return self.runner.positions()

    def projection_status(self) -> dict[str, Json]:
        """Each live projection's position, its error while it fails, and whether its
        tables are of an older schema than this release's (`outdated`: replay it)."""
        with self.db.read() as tx:
            status = live_status(tx)
            for name in status.keys() & self.runner.projections.keys():
                rows = tx.execute(base.SELECT_LIVE_SCHEMA, (name,))
                wanted = self.runner.projections[name].schema_version
                status[name]["outdated"] = bool(rows) and int(rows[0][2]) < wanted
            for name, progress in self._rebuilding(tx).items():
                if name in status:
                    status[name]["rebuilding"] = progress
        return {name: status[name] for name in self.runner.projections if name in status}

    def _rebuilding(self, tx: Tx) -> dict[str, Json]:
        """While a rebuild runs on this database (`ledger replay`, or a server's runner far
        behind; it holds the rebuild lock), each of its new versions' tag and position —
        by projection. Read from the database, so every worker answers the same; none on
        SQLite (its file lock cannot be looked at without taking it)."""
        held = held_query(self.db.url, "rebuild")
        if held is None:
            return {}
        rows = tx.execute("SELECT v.projection, v.tag, t.tag, t.position FROM proj_versions v "
                          "JOIN proj_tracking t ON t.projection = v.projection")
        found = {str(name): {"tag": str(tag), "position": int(position)}
                 for name, live, tag, position in rows if tag == next_version(str(live))}
        # pg_locks only then: reading it takes every partition of PostgreSQL's lock table
        # for a moment, which a /health polled often should not do for nothing
        return found if found and tx.execute(*held)[0][0] else {}

    def runner_role(self) -> str:
        """`leader` (this process runs the projections), `follower`, or `off`."""
        if not self.runner.running:
            return "off"
        return "leader" if self.runner.leading else "follower"

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        if not self.runner.running:
            self.runner.catch_up()
        else:
            self.runner.poke()
        reached = wait_until(lambda: self.position() >= position, timeout)
        if reached and self.answers is not None:
            self.answers.refresh()  # no answer older than `position` from here on
        return reached

    def reached(self, position: int) -> bool:
        return self.answers is not None and self.answers.reached(position)

    def peek(self, query: Callable[..., Json], *args: Any, **kwargs: Any) -> Json | None:
        """What `query(*args, **kwargs)` answers if that answer is kept and current, else
        None; never blocks (no database, no wait), so it may run on an event loop."""
        projection: str | None = getattr(query, "kept_by", None)
        if self.answers is None or projection is None or kwargs.pop("at", None) is not None:
            return None
        return self.answers.peek(projection, asked(query.__name__, args, kwargs))

    @contextmanager
    def _read(self, projection: str, at: int | None, *, dated: bool = False,
              seeks: bool = False) -> Iterator[tuple[Tx, str, int, int]]:
        """The live version of `projection` as of `at`; `dated` (a business-date cut-off)
        needs tables with the sums by business date (grants schema ≥ days.DATED_SCHEMA);
        `seeks`: the query's statements are seeks whose plan fits any values
        (projections/db.py, `Database.statements`), never a list with filters."""
        if at is not None and (isinstance(at, bool) or not isinstance(at, int) or at < 0):
            raise ValidationFailed("as_of_position: a position ≥ 0")
        pinned = self._pinned(projection, at, dated=dated)
        if at is not None and pinned is not None:
            # Every row it reads lies at or before `at`, below a position the version
            # is known to have passed: no snapshot needed, nor a look at the live tag.
            with self.db.statements(seeks=seeks) as tx:
                yield tx, pinned[0], at, pinned[1]
            return
        with self.db.read() as tx:
            rows = tx.execute(base.SELECT_LIVE_SCHEMA, (projection,))
            if not rows:
                raise LookupError(f"projection {projection} has no live version")
            tag, live, version = str(rows[0][0]), int(rows[0][1]), int(rows[0][2])
            self._schemas[(projection, tag)] = version  # a version's schema never changes
            if dated and version < days.DATED_SCHEMA:
                raise ProjectionOutdated(
                    f"the {projection} tables were written by an earlier release, without "
                    "the sums by business date: an operator must run `ledger replay "
                    f"--projection {projection}` once before effective_on can be answered")
            yield tx, tag, live if at is None else min(at, live), live

    def _pinned(self, projection: str, at: int | None, *, dated: bool) -> tuple[str, int] | None:
        """The kept view's (tag, position) of `projection` if it lies beyond `at` (and, when
        `dated`, its tables are known to be of this release's schema); else None."""
        view = self.answers.view(projection) if self.answers is not None else None
        if at is None or view is None or view[1] <= at:
            return None
        version = self._schemas.get((projection, view[0]))
        if version is None:
            return None  # unknown: the snapshot's path reads (and records) it
        if dated and version < days.DATED_SCHEMA:
            return None  # outdated: the snapshot's path refuses
        return view

    @contextmanager
    def _state(self, at: int | None, on: date | None = None, *,
               seeks: bool = False) -> Iterator[StateQuery]:
        if on is not None and not isinstance(on, date):
            raise ValidationFailed("effective_on: a date (YYYY-MM-DD)")
        with self._read("grants", at, dated=on is not None, seeks=seeks) as (
                tx, tag, position, live):
            yield StateQuery(tx, tag, at=position, live=live,
                             on=on.isoformat() if on is not None else None,
                             schema=self._schemas[("grants", tag)])

    # -- current state --------------------------------------------------------------

    @kept("grants", seeks=True)
    def application(self, application_id: str, *, at: int | None = None,
                    effective_on: date | None = None) -> Json:
        if effective_on is not None:
            with self._state(at, effective_on) as q:
                found = self._dated_answers(q, [application_id])
                if application_id not in found:
                    q.require("application", application_id)  # unknown: its own 404
                    raise NotFound(f"application {application_id} was not submitted by "
                                   f"{q.on}{q.then()}")
                return found[application_id]
        view = self.answers.view("grants") if self.answers is not None else None
        if at is None and view is not None:
            # One statement (one snapshot): the version's position and the state there;
            # two key seeks, so among the seeks (awaited on the API's loop: bridge.py).
            with self.db.statements(seeks=True) as tx:
                rows = tx.execute(state.current_sql(view[0]), ("application", application_id,
                                                                "grants", view[0]))
            if rows:  # else that version is gone (a rebuild): the snapshot's path
                position, found = int(rows[0][0]), rows[0][1]
                if found is None:
                    raise NotFound(f"unknown application {application_id}")
                return state.application_json(orjson.loads(found), position)
        with self._state(at, seeks=True) as q:
            return state.application_json(q.require("application", application_id), q.at)

    def applications_on(self, application_ids: Sequence[str], *, effective_on: date,
                        at: int | None = None) -> dict[str, Json]:
        """The applications of `application_ids` as of `at` by business date, each as
        `application` answers it with `effective_on`; one not submitted by then (or
        unknown) is left out. For a page of a list (the dashboard's phase page)."""
        with self._state(at, effective_on) as q:
            return self._dated_answers(q, application_ids)

    def _dated_answers(self, q: StateQuery, application_ids: Sequence[str]) -> dict[str, Json]:
        """`application_ids` by `q.on` as `application` answers them (those not submitted
        by then left out)."""
        return {application_id: {**state.application_json(s, q.at), "effective_on": q.on}
                for application_id, s in state.applications_on(
                    q, application_ids, self._events_at).items()}

    @kept("grants")
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
        with self._state(at) as q:
            return lists.applications_page(q, phase_id=phase_id, recipient_id=recipient_id,
                                           status=status, reference=reference, text=text,
                                           cursor=cursor, limit=limit)

    @kept("grants")
    def programmes(self, *, cursor: str | None = None, limit: int = 100,
                   at: int | None = None) -> Json:
        with self._state(at) as q:
            return lists.programmes_page(q, cursor=cursor, limit=limit)

    @kept("grants")
    def phases_of(self, programme_id: str, *, cursor: str | None = None, limit: int = 100,
                  at: int | None = None) -> Json:
        with self._state(at) as q:
            return lists.phases_page(q, programme_id, cursor=cursor, limit=limit)

    @kept("grants")
    def recipients(self, *, text: str | None = None, cursor: str | None = None,
                   limit: int = 100, at: int | None = None) -> Json:
        with self._state(at) as q:
            return lists.recipients_page(q, text=text, cursor=cursor, limit=limit)

    @kept("grants")
    def programme(self, programme_id: str, *, at: int | None = None) -> Json:
        with self._state(at, seeks=True) as q:
            return state.programme_json(q, programme_id)

    @kept("grants")
    def phase(self, phase_id: str, *, at: int | None = None) -> Json:
        with self._state(at, seeks=True) as q:
            return totals.phase_answer(q, phase_id)

    def phase_ids(self, *, at: int | None = None) -> list[str]:
        """Every phase that exists at `at`, in id order (reports that cover them all)."""
        with self._state(at) as q:
            return [str(s["phase_id"]) for s in q.many("phase")]

    @kept("grants")
    def recipient(self, recipient_id: str, *, at: int | None = None) -> Json:
        with self._state(at, seeks=True) as q:
            return state.recipient_json(q, recipient_id)

    @kept("grants")
    def recipient_statement(self, recipient_id: str, *, at: int | None = None,
                            effective_on: date | None = None) -> Json:
        with self._state(at, effective_on) as q:
            # by business date, each application folded from its events dated by then
            return state.recipient_statement(q, recipient_id, read_events=self._events_at)

    # -- money ----------------------------------------------------------------------

    @kept("grants")
    def phase_totals(self, phase_id: str, *, at: int | None = None,
                     effective_on: date | None = None) -> Json:
        with self._state(at, effective_on, seeks=True) as q:
            return totals.phase_totals(q, phase_id)

    @kept("grants")
    def phase_entries(
        self, phase_id: str, figure: str, *, cursor: str | None = None,
        limit: int = 100, at: int | None = None, effective_on: date | None = None,
        recipient_kind: str | None = None,
    ) -> Json:
        with self._state(at, effective_on, seeks=True) as q:
            return totals.phase_entries(q, phase_id, figure, cursor=cursor, limit=limit,
                                        recipient_kind=recipient_kind)

    @kept("grants")
    def reconciliation(self, programme_id: str, fiscal_year: int, *, at: int | None = None,
                       effective_on: date | None = None) -> Json:
        with self._state(at, effective_on, seeks=True) as q:
            return totals.reconciliation(q, programme_id, fiscal_year)

    @kept("grants")
    def reconciliation_entries(
        self, programme_id: str, fiscal_year: int, figure: str, *,
        cursor: str | None = None, limit: int = 100, at: int | None = None,
        effective_on: date | None = None,
    ) -> Json:
        with self._state(at, effective_on, seeks=True) as q:
            return totals.reconciliation_entries(q, programme_id, fiscal_year, figure,
                                                 cursor=cursor, limit=limit)

    @kept("grants")
    def accounts(self, programme_id: str, *, cursor: str | None = None, limit: int = 100,
                 at: int | None = None, effective_on: date | None = None) -> Json:
        with self._state(at, effective_on, seeks=True) as q:
            return account_pages.accounts(q, programme_id, cursor=cursor, limit=limit)

    # -- audit ----------------------------------------------------------------------

    def _events_at(self, positions: Sequence[int]) -> list[LoggedEvent]:
        """The log's events at `positions`, in the order recorded."""
        if not positions:
            return []
        ledger = self.runner.ledger
        records = sorted(ledger.chained_recorder.read_log_at(positions),
                         key=lambda r: r.position)
        return decode(ledger, records)

    def _event_data(self, positions: Sequence[int]) -> dict[int, Json]:
        ledger = self.runner.ledger
        fields_of = fields_decoder(ledger)
        return {r.position: data_of(fields_of(r))
                for r in ledger.chained_recorder.read_log_at(positions)} if positions else {}

    @kept("audit")
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
        with self._read("audit", at) as (tx, tag, position, _):
            return query_audit(tx, tag, at=position, data_at=self._event_data,
                               entity_id=entity_id, actor=actor,
                               event_type=event_type, recorded_from=recorded_from,
                               recorded_to=recorded_to, cursor=cursor, limit=limit)

    def last_recorded(self, entity_type: str, entity_ids: Sequence[str], *,
                      at: int | None = None) -> dict[str, str]:
        with self._read("audit", at) as (tx, tag, position, _):
            return last_recorded(tx, tag, entity_type, entity_ids, at=position)

    @kept("audit")
    def application_history(
        self, application_id: str, *, cursor: str | None = None, limit: int = 100,
        at: int | None = None,
    ) -> Json:
        with self._read("audit", at) as (tx, tag, position, live):
            page = query_audit(tx, tag, at=position, data_at=self._event_data,
                               entity_type="application",
                               entity_id=application_id, cursor=cursor, limit=limit)
        if not page["items"] and cursor is None:  # no first event: none (then) by that id
            raise NotFound(f"unknown application {application_id}"
                           f"{state.as_of_note(position, live)}")
        return page


def build_read_models(
    settings: Settings, ledger: Ledger, *, batch_size: int | None = None,
    interval: float = 0.1, keep_answers: bool = False, rebuild_far_behind: bool = False,
) -> ReadModelsImpl:
    """The read side on the store of `settings` (memory:// → an in-memory SQLite);
    `keep_answers` keeps current answers until the projections move on (a server);
    `rebuild_far_behind`: the runner's thread rebuilds what is far behind the log
    instead of catching it up (a server's, the projector's: projections/runner.py)."""
    db = Database(settings.database_url)
    runner = Runner(db, ledger, all_projections(), interval=interval,
                    **({"batch_size": batch_size} if batch_size else {}))
    runner.leadership = leadership_for(settings.database_url)
    if rebuild_far_behind:
        runner.rebuild_from = REBUILD_FROM
    runner.ensure_schema(warn=False)
    ensure_status_table(db)
    fill_lookups(db)
    runner.warn_outdated()  # after the upgrades made in place
    return ReadModelsImpl(db, runner, keep_answers=keep_answers)


def fill_lookups(db: Database) -> None:
    """The live grants version's lookup rows written from the entity states, once, where
    a replay is not needed for them — exactly the rows a replay writes, under the
    projection's tracking row (no batch meanwhile):
    - a database written before the lookup table existed gets it filled;
    - one of schema 4 (search keys as written only) gets them again in every spelling
      (projections/lookups.py) and becomes schema 5."""
    respelled = lookups.SPELLINGS_SCHEMA

    def due(tx: Tx) -> tuple[str, bool] | None:
        """(the live tag, whether it is respelled), when its lookups are to be written."""
        live = tx.execute(base.SELECT_LIVE_SCHEMA, ("grants",))
        if not live:
            return None
        tag, position, version = str(live[0][0]), int(live[0][1]), int(live[0][2])
        if version == respelled - 1:
            return tag, True
        empty = not tx.execute(f"SELECT 1 FROM {lookups.LOOKUP.name(tag)} LIMIT 1")
        return (tag, False) if position > 0 and empty else None

    with db.read() as tx:
        wanted = due(tx)
    if wanted is None:
        return
    tag, respell = wanted
    with db.write() as tx:
        lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
        tx.execute(base.SELECT_TRACKING + lock, ("grants", tag))
        if due(tx) != wanted:
            return  # a rebuild switched versions meanwhile, or another process did it
        tx.execute(f"DELETE FROM {lookups.LOOKUP.name(tag)}")  # (empty unless respelled)
        written = lookups.backfill(tx, tag, entities_table=ENTITIES.name(tag),
                                   history_table=HISTORY.name(tag))
        if respell:
            tx.execute("UPDATE proj_schemas SET version = ? WHERE projection = 'grants' "
                       "AND tag = ?", (respelled, tag))
    if respell:
        log.info("lookups_respelled", rows=written, schema=respelled)
    elif written:
        log.info("lookups_filled", rows=written)


def replay_all(settings: Settings, ledger: Ledger, progress: Progress | None = None
               ) -> tuple[int, float]:
    """Rebuild every projection from the log; returns (events, seconds). For scripts/bench.py."""
    read_models = build_read_models(settings, ledger)
    try:
        return read_models.replay(progress=progress)
    finally:
        read_models.close()
