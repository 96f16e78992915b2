"""Keeps the projections current: batches of events, one transaction and one tracking update each.

A batch locks the tracking rows of its projections, reads the events after the
lowest tracking position from the log, writes every projection's rows and
moves the tracking positions, all in one transaction: a crash anywhere rolls
the whole batch back, and the next run starts again from the committed
positions. Positions may have gaps (PostgreSQL sequence values of rolled-back
inserts), so progress is "no more events after my position", never "position + 1".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import psycopg
import structlog

from ledger import Ledger
from ledger.persistence.watch import LogWatch, Wakeup
from projections import base
from projections.base import Projection
from projections.db import Database, Tx
from projections.events import LoggedEvent, decode
from projections.leader import Leadership, Sole
from projections.status import FailureRecord, describe

log = structlog.get_logger("projections")

BATCH_SIZE = 5000
# Events behind the head from which a server's runner rebuilds rather than catches up —
# when that is also at least half the log (a log imported in bulk, a new database):
# the rebuild replays each projection in a process of its own, with the bulk's COPY and
# deferred indexes: 1M events in 124-141 s here against 176-179 s in batches in the
# server's interpreter (docs/projections.md).
REBUILD_FROM = 200_000
REBUILD_PAUSE = 600.0  # seconds without a rebuild after one failed (or another ran)
REBUILD_NICE = 10  # the rebuild's processes yield the CPU to the server's requests
Progress = Callable[[int, int], None]  # (events done in this call, chain head position)


class Runner:
    """Runs batches for the live versions of `projections` (or for given tags)."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        projections: Sequence[Projection],
        *,
        batch_size: int = BATCH_SIZE,
        interval: float = 0.1,
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.interval = interval
        self.last_error: str | None = None
        # Only the leader's thread runs batches; build_read_models elects one per database.
        self.leadership: Leadership = Sole()
        self.leading: bool | None = None  # None: not decided yet (or not running)
        self.follow_interval = 1.0
        self.retry_interval = 1.0
        # With a watch on the log (PostgreSQL: ledger/persistence/watch.py) a runner that
        # found nothing waits for a notification, looking anyway every `idle_interval`.
        self.watch: LogWatch | None = None
        self.idle_interval = 1.0
        self.failures = FailureRecord(db, self.positions)
        self._stop = threading.Event()
        self._wake = Wakeup()  # poke(), stop(), and (when idle) the log's notifications
        self._thread: threading.Thread | None = None
        self.before_commit: Callable[[int], None] | None = None  # tests: crash mid-batch
        # Far behind (`far_behind`), the thread rebuilds in processes instead of
        # catching up here; None: never (a CLI command's runner, a test's).
        self.rebuild_from: int | None = None
        self.rebuilding: list[str] | None = None  # the projections it rebuilds, meanwhile
        self._look_far = True  # whether the next step first looks how far behind it is
        self._rebuild_after = 0.0  # (monotonic) no rebuild before: the last one failed
        # the projections the last batch found failing: a rebuild would fail where they do
        self._failing: frozenset[str] = frozenset()
        # What the projections write through instead of the batch's transaction (a
        # rebuild's bulk process: projections/behind.py); None: the transaction itself.
        self.writing: Callable[[Tx], Tx] | None = None

    # -- schema ------------------------------------------------------------------

    def ensure_schema(self, *, warn: bool = True) -> None:
        """Creates what is missing of the live versions: tables, indexes (CREATE … IF NOT
        EXISTS, so a release's new index is added to an existing database here), and
        the record of each version's schema; `warn`: logs the outdated ones."""
        with self.db.schema() as tx:
            tx.execute(base.CREATE_VERSIONS)
            tx.execute(base.CREATE_TRACKING)
            tx.execute(base.CREATE_SCHEMAS)
            live = {str(n): str(t) for n, t in tx.execute(base.SELECT_LIVE)}
            for name, projection in self.projections.items():
                tag = str(live.get(name, "v1"))
                if tracking(tx, name, tag) > 0:  # written before its schema was recorded?
                    tx.execute(base.INSERT_SCHEMA, (name, tag, base.LEGACY_SCHEMA))
                create_tables(tx, projection, tag)
                tx.execute(base.INSERT_VERSION, (name, tag))
        if warn:
            self.warn_outdated()

    def warn_outdated(self) -> None:
        """Logs each projection whose live tables are of an older schema, with the fix."""
        for name, (version, wanted) in self.outdated().items():
            log.warning("projection_outdated", projection=name, version=version,
                        wanted=wanted, fix=f"ledger replay --projection {name}")

    def outdated(self) -> dict[str, tuple[int, int]]:
        """The projections whose live version was written with an older schema:
        {name: (its schema version, this release's)}."""
        found = {}
        with self.db.read() as tx:
            for name, projection in self.projections.items():
                rows = tx.execute(base.SELECT_LIVE_SCHEMA, (name,))
                if rows and int(rows[0][2]) < projection.schema_version:
                    found[name] = (int(rows[0][2]), projection.schema_version)
        return found

    def live_tags(self, tx: Tx) -> dict[str, str]:
        tags = {str(n): str(t) for n, t in tx.execute(base.SELECT_LIVE)}
        return {name: tags[name] for name in self.projections}

    def positions(self) -> dict[str, int]:
        with self.db.read() as tx:
            rows = tx.execute(base.SELECT_LIVE_POSITIONS)
        live = {str(name): int(position) for name, _, position in rows}
        return {name: live[name] for name in self.projections}

    # -- batches -----------------------------------------------------------------

    def run_batch(
        self,
        tags: dict[str, str] | None = None,
        *,
        upto: int | None = None,
        switch: bool = False,
    ) -> int:
        """Project one batch; returns the number of events read (0: caught up).

        `tags` None means the live versions. With `switch`, the batch that finds
        nothing more to read also makes `tags` the live versions, in its transaction.
        """
        with self.db.write() as tx:
            if tags is None:
                if tx.dialect == "postgresql":  # a concurrent switch waits for this batch
                    tx.execute("SELECT tag FROM proj_versions FOR SHARE")
                targets = self.live_tags(tx)
            else:
                targets = tags
            lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
            positions = {}
            for name, tag in sorted(targets.items()):
                rows = tx.execute(base.SELECT_TRACKING + lock, (name, tag))
                positions[name] = int(rows[0][0])
            start = min(positions.values())
            events = self.read_events(after=start, upto=upto)
            if events:
                last = events[-1].position
                writing = tx if self.writing is None else self.writing(tx)
                for name, tag in targets.items():
                    mine = [e for e in events if e.position > positions[name]]
                    self.projections[name].apply(writing, tag, mine)
                    moved = max(last, positions[name])
                    tx.execute(base.UPDATE_TRACKING, (moved, name, tag))
                if self.before_commit is not None:
                    self.before_commit(last)
            elif switch:
                for name, tag in targets.items():
                    tx.execute(base.UPDATE_VERSION, (tag, name))
        return len(events)

    def read_events(self, *, after: int, upto: int | None = None) -> list[LoggedEvent]:
        """The next batch of the log after `after`, in position order, read the one way
        the write side offers (ledger.persistence.log). The caller holds the tracking
        rows locked, so no other batch reads the same events meanwhile."""
        records = self.ledger.chained_recorder.read_log(after=after, limit=self.batch_size,
                                                       upto=upto)
        return decode(self.ledger, records)

    def catch_up(self, *, progress: Progress | None = None, upto: int | None = None) -> int:
        """Project everything recorded so far (synchronously); returns the events read."""
        total = 0
        head = self.ledger.chained_recorder.chain_head()[0] if progress else 0
        while True:
            count = self.run_batch(upto=upto)
            total += count
            if progress is not None and count:
                progress(total, head)
            if count < self.batch_size:
                return total

    # -- the thread --------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        if self.watch is None:
            self.watch = self.ledger.log_watch()
        self._lead()  # decided before the first request: leader or follower
        self._thread = threading.Thread(target=self._run, name="projections", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def poke(self) -> None:
        """Wake the thread now (e.g. after a command wrote events)."""
        self._wake.set()

    def _run(self) -> None:
        watch = self.watch
        if watch is not None:
            watch.subscribe(self._wake.notified)
        try:
            while not self._stop.is_set():
                if not self._lead():
                    self._stop.wait(self.follow_interval)
                    continue
                if self._look_far:
                    self._look_far = False
                    if self._rebuild_far_behind():
                        continue
                count = self._step()
                self._look_far = count >= self.batch_size  # behind: look again
                if count < self.batch_size:
                    self._wake.pause(watch, found_nothing=count == 0, interval=self.interval,
                                     idle_interval=self.idle_interval)
        finally:
            if watch is not None:
                watch.unsubscribe(self._wake.notified)
            self.leadership.release()
            self.leading = None

    def far_behind(self) -> tuple[list[str], int]:
        """The projections a rebuild would catch up faster than batches here (`rebuild_from`
        events or more behind, and at least half the log), and the head; on PostgreSQL
        only (its rebuild replays in processes; SQLite's would run in this one). Not one
        the last batch found failing: replayed, it would fail at the same event (its
        batches retry it, and /health says so, until it is fixed)."""
        if self.rebuild_from is None or self.db.dialect != "postgresql" or (
                time.monotonic() < self._rebuild_after):
            return [], 0
        head = self.ledger.chained_recorder.chain_head()[0]
        behind = max(self.rebuild_from, (head + 1) // 2)
        return [name for name, position in sorted(self.positions().items())
                if head - position >= behind and name not in self._failing], head

    def _rebuild_far_behind(self) -> bool:
        """Rebuilds the projections far behind (`far_behind`); True when it did (or was
        stopped meanwhile), False when none is, or the rebuild failed or was busy (logged:
        the batches catch up instead)."""
        from projections import parallel  # (they import this module)
        from projections.rebuild import RebuildBusy, rebuild

        try:
            names, head = self.far_behind()
        except Exception as exc:  # (the batch that follows meets it again, and says so)
            log.debug("projection_lag_unknown", error=describe(exc))
            return False
        if not names:
            return False
        log.info("projections_rebuilding", projections=names, head=head,
                 positions=self.positions(),
                 why="far behind the log: replayed in processes, then switched")
        self.rebuilding = names
        try:
            events, seconds = rebuild(self, names, stop=self._stop, alone=True,
                                      nice=REBUILD_NICE)
        except parallel.Stopped:
            log.info("projections_rebuild_stopped", projections=names)
            return True
        except RebuildBusy as exc:  # (an operator's `ledger replay`: it switches soon)
            log.info("projections_rebuild_busy", projections=names, error=str(exc))
            self._rebuild_after = time.monotonic() + REBUILD_PAUSE
            return False
        except Exception as exc:  # the batches catch up instead, and report what fails
            log.error("projections_rebuild_failed", projections=names, error=describe(exc))
            self._rebuild_after = time.monotonic() + REBUILD_PAUSE
            return False
        finally:
            self.rebuilding = None
        log.info("projections_rebuilt", projections=names, events=events,
                 seconds=round(seconds, 1), rate=round(events / max(seconds, 1e-9)))
        return True

    def _lead(self) -> bool:
        leading = self.leadership.hold()
        if leading != self.leading:
            log.info("projections_leading" if leading else "projections_following")
            self.leading = leading
            self._look_far = leading
            self.failures.forget()
        return leading

    def _step(self) -> int:
        """One batch; when it fails, finds and records which projections fail, pauses."""
        try:
            count, failing = self._batch_on_live_connections(), {}
        except Exception as exc:  # resume from the tracking positions after a pause
            log.debug("projection_batch_failed", error=describe(exc))
            count, failing = -1, self._diagnose(exc)
        self.failures.update(failing)
        self._failing = frozenset(failing)
        self.last_error = "; ".join(f"{n}: {describe(e)}" for n, e in failing.items()) or None
        if count < 0:
            self._stop.wait(self.retry_interval)
        return max(count, 0)

    def _batch_on_live_connections(self) -> int:
        """A batch; if it met a connection the server had closed (a restart, a terminated
        backend), once more after the pools dropped every such connection — a dead pooled
        connection is not a failing projection."""
        try:
            return self.run_batch()
        except psycopg.OperationalError as exc:
            log.info("projection_connection_lost", error=describe(exc))
            self.db.check_pools()
            return self.run_batch()

    def _diagnose(self, exc: Exception) -> dict[str, Exception]:
        """Runs each projection's batch alone: the failing ones are named, the
        healthy ones keep up meanwhile."""
        try:
            with self.db.read() as tx:
                tags = self.live_tags(tx)
        except Exception:  # the store itself fails: every projection does
            return dict.fromkeys(self.projections, exc)
        failing = {}
        for name, tag in sorted(tags.items()):
            try:
                self.run_batch({name: tag})
            except Exception as own:  # this projection's own failure
                failing[name] = own
        return failing


def create_tables(tx: Tx, projection: Projection, tag: str, *, indexes: bool = True,
                  unlogged: bool = False) -> None:
    for table in projection.tables:
        table.create(tx, tag, indexes=indexes, unlogged=unlogged)
    tx.execute(base.INSERT_TRACKING, (projection.name, tag))
    tx.execute(base.INSERT_SCHEMA, (projection.name, tag, projection.schema_version))


def drop_tables(tx: Tx, projection: Projection, tag: str) -> None:
    for table in projection.tables:
        table.drop(tx, tag)
    tx.execute(base.DELETE_TRACKING, (projection.name, tag))
    tx.execute(base.DELETE_SCHEMA, (projection.name, tag))


def tracking(tx: Tx, name: str, tag: str) -> int:
    rows = tx.execute(base.SELECT_TRACKING, (name, tag))
    return int(rows[0][0]) if rows else 0


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
