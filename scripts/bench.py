"""Benchmark of the ledger on PostgreSQL, each figure beside the raw PostgreSQL figure (SPEC §9).

    .venv/bin/python scripts/bench.py [--events N] [--commands N] [--threads 2,4]
                                      [--database-url URL] [--json FILE] [--keep]
                                      [--query-seconds S] [--write-seconds S] [--no-http]

(or `ledger bench …`). It creates a fresh database (`ledger_bench` on the server of
--database-url), drops it at the end (unless --keep), and measures in one run:

a) commands/s of submit, approve, request drawdown and pay through the Ledger Python API,
   sequentially (one client) and with T threads;
b) beside them, raw single-row INSERT + COMMIT/s into a plain table (psycopg, one and T
   connections);
c) the time to generate --events more events (national scale: --events 1000000):
   recipients registered in bulk, then applications generated through the domain
   aggregates — the same checks, events, recorder and hash chain as the commands — saved
   in batches of --batch applications per transaction, each aggregate's events together as
   a batch command writes them (the recorder's bulk path: COPY), a writer thread saving
   one batch while the next is built; a tenth before (a), the rest after it; beside it,
   raw batched INSERTs of as many rows of the same size (scripts/bench_log.py);
e) after the tenth and again after the whole log: `ledger serve` in a subprocess, the time
   its projections take to catch up, and each query under 16 concurrent clients (wrk) and
   under one client: req/s, p50, p99 and every non-2xx answer, beside the trivial endpoint
   measured the same way; then how p50 grew with the log (scripts/bench_http.py);
f) HTTP commands from 16 clients (submit, approve, request and pay a drawdown, four eyes),
   beside raw INSERT + COMMIT/s from as many connections;
d) `projections.replay_all(settings, ledger)` events/s if it exists, beside the raw read
   of the same rows (server-side cursor) and the read + decode into domain events, and the
   hash-chain verification rate;
and peak RSS after each stage.

It is a script, not a test: figures depend on the machine, see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from pydantic import ValidationError

from ledger import Ledger, NewRecipient, Settings, build_ledger
from ledger.commands import (
    AppropriateBudget,
    ApproveApplication,
    CreateProgramme,
    OpenPhase,
    PayDrawdown,
    RegisterRecipients,
    RequestDrawdown,
    SubmitApplication,
)
from ledger.heap import settle_heap
from ledger.logging import configure_logging
from scripts import bench_http
from scripts.bench_log import (
    ADMIN,
    APPROVER,
    CLERK,
    EVENTS_PER_APPLICATION,
    FINANCE,
    KINDS,
    PAYMASTER,
    START_YEAR,
    YEARS,
    NationalLog,
    generate_log,
    money,
    shape_for,
)
from scripts.bench_report import Figure, Report, as_json, print_table
from scripts.configuration import CONFIG_ERROR, problems
from scripts.store import shown_url

# tests/e2e/test_scale.py reaches the log generator through this module.
__all__ = ["START_YEAR", "YEARS", "Figure", "NationalLog", "Report", "generate_log", "main",
           "shape_for"]

def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def in_threads(threads: int, items: Sequence[Any], work: Callable[[Any], None],
               *, failures: Counter[str] | None = None) -> float:
    """Splits items over `threads` threads; returns wall time.

    Without `failures` the first error of any thread is raised after the join; with it,
    each failed item is counted there (by exception type and message) and the rest go on.
    """
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(chunk: Sequence[Any]) -> None:
        for item in chunk:
            try:
                work(item)
            except Exception as exc:
                with lock:
                    if failures is None:
                        errors.append(exc)
                        return
                    failures[f"{type(exc).__name__}: {exc}"] += 1

    workers = [threading.Thread(target=run, args=(items[n::threads],)) for n in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


# -- the database --------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def conninfo(url: str) -> str:
    parts = urlsplit(url)
    return psycopg.conninfo.make_conninfo(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432,
        user=parts.username or "postgres", password=parts.password or "",
        dbname=parts.path.lstrip("/") or "postgres",
    )


def recreate_database(server_url: str, name: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def machine(url: str) -> dict[str, Any]:
    with psycopg.connect(conninfo(url)) as conn:
        settings = {
            key: str(conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(key))).fetchone()[0])  # type: ignore[index]  # SHOW always answers one row
            for key in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
        }
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "postgresql": settings.pop("server_version"),
        "postgresql_settings": settings,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# -- (b) raw PostgreSQL baselines ------------------------------------------------------

RAW_TABLE = "bench_raw"
RAW_MIN_ROWS = 2000  # fewer commits measure the disk's mood more than its rate
RAW_INSERT = "INSERT INTO bench_raw (originator_id, payload) VALUES (%s, %s)"


def raw_setup(url: str) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        conn.execute(f"CREATE TABLE {RAW_TABLE} (id bigserial PRIMARY KEY, "
                     "originator_id uuid NOT NULL, payload bytea NOT NULL)")


def raw_single_inserts(url: str, rows: int, *, threads: int, size: int) -> float:
    """One INSERT and one COMMIT per row, `threads` connections in parallel."""
    payload = os.urandom(size)

    def work(chunk: Sequence[int]) -> None:
        with psycopg.connect(conninfo(url)) as conn:
            for _ in chunk:
                conn.execute(RAW_INSERT, (uuid.uuid4(), payload), prepare=True)
                conn.commit()

    chunks = [list(range(rows))[n::threads] for n in range(threads)]
    return in_threads(threads, chunks, work)


def raw_batched_inserts(url: str, rows: int, *, batch: int, size: int) -> float:
    payload = os.urandom(size)
    start = time.perf_counter()
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        for offset in range(0, rows, batch):
            n = min(batch, rows - offset)
            cur.executemany(
                RAW_INSERT,
                [(uuid.uuid4(), payload) for _ in range(n)],
            )
            conn.commit()
    return time.perf_counter() - start


def raw_read(url: str, table: str) -> tuple[int, int, float]:
    """Streams every row of `table` with a server-side cursor: rows, bytes, seconds."""
    rows = size = 0
    start = time.perf_counter()
    with psycopg.connect(conninfo(url)) as conn, conn.cursor(name="bench_read") as cur:
        cur.itersize = 10_000
        cur.execute(sql.SQL("SELECT * FROM {} ORDER BY notification_id").format(
            sql.Identifier(table)))
        for row in cur:
            rows += 1
            size += len(row[3])  # state
    return rows, size, time.perf_counter() - start


# -- (a) commands through the Ledger API ----------------------------------------------


def command_phase(ledger: Ledger, programme_id: str, phase_id: str, count: int) -> list[str]:
    ledger.execute(ADMIN, OpenPhase(
        programme_id=programme_id, phase_id=phase_id, name=phase_id,
        fiscal_year=START_YEAR, envelope=money(f"{count * 1000}.00"),
        opens_on=date(START_YEAR, 1, 1), closes_on=date(START_YEAR, 12, 31),
        eligible_kinds=KINDS))
    recipient_ids = [f"{phase_id}-r{n:06d}" for n in range(count)]
    ledger.execute(ADMIN, RegisterRecipients(recipients=[
        NewRecipient(rid, f"Gemeinde {rid}", "gemeinde", 1000 + n)
        for n, rid in enumerate(recipient_ids)]))
    return recipient_ids


def bench_commands(ledger: Ledger, report: Report, *, count: int, threads: int,
                   phase_id: str, programme_id: str) -> None:
    label = "1 client" if threads == 1 else f"{threads} threads"
    recipient_ids = command_phase(ledger, programme_id, phase_id, count)
    day = date(START_YEAR, 6, 1)
    application_ids: list[str] = []
    lock = threading.Lock()

    def submit(rid: str) -> None:
        result = ledger.execute(CLERK, SubmitApplication(
            phase_id=phase_id, recipient_id=rid, requested_amount=money("1000.00"),
            submitted_on=day))
        with lock:
            application_ids.append(result.ids["application_id"])

    def approve(aid: str) -> None:
        ledger.execute(APPROVER, ApproveApplication(
            application_id=aid, approved_amount=money("1000.00"), decided_on=day))

    def request(aid: str) -> None:
        ledger.execute(CLERK, RequestDrawdown(
            application_id=aid, amount=money("1000.00"), requested_on=day))

    def pay(aid: str) -> None:
        ledger.execute(PAYMASTER, PayDrawdown(application_id=aid, drawdown_id="D1", paid_on=day))

    for name, items, work in (
        ("submit_application", recipient_ids, submit),
        ("approve_application", None, approve),
        ("request_drawdown", None, request),
        ("pay_drawdown", None, pay),
    ):
        todo: Sequence[str] = items if items is not None else list(application_ids)
        failures: Counter[str] = Counter()
        seconds = in_threads(threads, todo, work, failures=failures)
        failed = sum(failures.values())
        note = "; ".join(f"{n} × {text[:120]}" for text, n in failures.most_common(3))
        report.add(Figure(f"command {name} ({label})", len(todo) - failed, seconds, "cmds",
                          baseline=f"raw INSERT+COMMIT ({label})",
                          note=f"{failed} of {len(todo)} FAILED: {note}" if failed else ""))
        if failed:
            report.notes.append(f"{name} with {label}: {failed} of {len(todo)} failed")
        if name == "approve_application":
            approved = {aid for aid in application_ids
                        if ledger.application(aid).status == "approved"}
            application_ids[:] = [aid for aid in application_ids if aid in approved]
        if name == "request_drawdown":
            application_ids[:] = [aid for aid in application_ids
                                  if "D1" in ledger.application(aid).drawdowns]


def bench_mixed(ledger: Ledger, report: Report, *, count: int, threads: int,
                phase_id: str, programme_id: str) -> None:
    """Every thread walks its own applications through submit, approve, request and
    pay in one phase: the clerks, approvers and paymasters of one call at once."""
    recipient_ids = command_phase(ledger, programme_id, phase_id, max(1, count // 4))
    day = date(START_YEAR, 6, 1)

    def walk(rid: str) -> None:
        aid = ledger.execute(CLERK, SubmitApplication(
            phase_id=phase_id, recipient_id=rid, requested_amount=money("1000.00"),
            submitted_on=day)).ids["application_id"]
        ledger.execute(APPROVER, ApproveApplication(
            application_id=aid, approved_amount=money("1000.00"), decided_on=day))
        ledger.execute(CLERK, RequestDrawdown(
            application_id=aid, amount=money("1000.00"), requested_on=day))
        ledger.execute(PAYMASTER, PayDrawdown(application_id=aid, drawdown_id="D1",
                                              paid_on=day))

    failures: Counter[str] = Counter()
    seconds = in_threads(threads, recipient_ids, walk, failures=failures)
    failed = sum(failures.values())
    report.add(Figure(f"commands mixed ({threads} threads)", 4 * (len(recipient_ids) - failed),
                      seconds, "cmds", baseline="raw INSERT+COMMIT (1 client)",
                      note="submit, approve, request, pay per application, one phase"
                           + (f"; {failed} walks FAILED" if failed else "")))


# -- (d) reading the log -----------------------------------------------------------------


def bench_reads(ledger: Ledger, settings: Settings, url: str, report: Report) -> None:
    table = str(ledger.recorder.events_table_name)  # type: ignore[attr-defined]  # a PostgresApplicationRecorder
    rows, size, seconds = raw_read(url, table)
    report.add(Figure("raw read (server-side cursor)", rows, seconds, "rows",
                      note=f"{size / rows:.0f} bytes of state per event" if rows else ""))
    report.stage_done("raw read")
    seconds = timed(lambda: decode_all(ledger))
    report.add(Figure("read + decode to domain events", rows, seconds, "events",
                      baseline="raw read (server-side cursor)"))
    chain = ledger.verify_chain()
    seconds = timed(ledger.verify_chain)
    report.add(Figure("verify hash chain", chain.checked, seconds, "events",
                      baseline="raw read (server-side cursor)",
                      note="verified" if chain.verified else f"BROKEN: {chain.problem}"))
    report.stage_done("decode + verify")
    try:
        projections = importlib.import_module("projections")
        replay_all = projections.replay_all
    except (ImportError, AttributeError) as exc:
        message = f"replay skipped: projections.replay_all is not available ({exc})"
        print(f"  {message}")
        report.notes.append(message)
        return
    start = time.perf_counter()
    result = replay_all(settings, ledger)
    seconds = time.perf_counter() - start
    # replay_all answers (events replayed, seconds); count the rows if it answers otherwise.
    replayed = result[0] if isinstance(result, tuple) and isinstance(result[0], int) else rows
    report.add(Figure("projections.replay_all (all projections)", replayed, seconds, "events",
                      baseline="raw read (server-side cursor)"))
    report.stage_done("replay")


def decode_all(ledger: Ledger, page: int = 5000) -> int:
    count, start = 0, 1
    mapper = ledger.mapper
    while True:
        notifications = ledger.recorder.select_notifications(start=start, limit=page)
        for notification in notifications:
            mapper.to_domain_event(notification)
        count += len(notifications)
        if len(notifications) < page:
            return count
        start = notifications[-1].id + 1


# -- main -----------------------------------------------------------------------------------


def _count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `least`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is below {least}")
        return value
    return parse


def _thread_counts(text: str) -> str:
    """An argparse type: comma-separated thread counts (0 or 1: none besides one client)."""
    try:
        counts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: thread counts such as 4,16") from None
    if any(count < 0 for count in counts):
        raise argparse.ArgumentTypeError(f"{text!r}: thread counts are not negative")
    return text


def _server_url(text: str) -> str:
    """An argparse type: a postgresql:// URL (the bench measures PostgreSQL only)."""
    if urlsplit(text).scheme not in ("postgresql", "postgres"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a PostgreSQL server's URL, postgresql://user@host:port/db")
    return text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--events", type=_count(0), default=100_000,
                        help="events to generate in bulk, on top of the ~6 × 3 × --commands "
                             "events of the command figures (national scale: 1000000)")
    parser.add_argument("--commands", type=_count(1), default=2000,
                        help="commands timed per command type and per client setting")
    parser.add_argument("--threads", type=_thread_counts, default="4",
                        help="comma-separated thread counts besides 1 (e.g. 2,4; 0 = none)")
    parser.add_argument("--batch", type=_count(1), default=500,
                        help="applications per transaction when generating the log")
    parser.add_argument("--database-url", type=_server_url,
                        default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="any database on the server; the bench creates its own")
    parser.add_argument("--database-name", default="ledger_bench")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    http = parser.add_argument_group("HTTP stages (`ledger serve` in a subprocess)")
    http.add_argument("--query-seconds", type=_count(1), default=5,
                      help="seconds each query runs, per client setting and log size")
    http.add_argument("--query-timeout", type=_count(1), default=30,
                      help="seconds before a request counts as a timeout")
    http.add_argument("--write-seconds", type=_count(1), default=10,
                      help="seconds of HTTP commands")
    http.add_argument("--http-clients", type=_count(1), default=16,
                      help="concurrent clients of the query and write stages")
    http.add_argument("--load-generator", choices=["auto", "wrk", "asyncio"], default="auto",
                      help="for the queries: wrk (auto: if on PATH) or the asyncio client")
    http.add_argument("--no-http", action="store_true", help="skip the HTTP stages")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    threads = [int(t) for t in args.threads.split(",") if t.strip() and int(t) > 1]
    configure_logging("json", level=logging.WARNING)  # a log line per command would dominate
    url = database_url(args.database_url, args.database_name)
    try:  # the LEDGER_* environment as every command reads it, before anything is made
        settings = Settings(database_url=url)
    except ValidationError as exc:
        for line in problems(exc):
            print(f"error: {line}", file=sys.stderr)
        return CONFIG_ERROR
    try:
        recreate_database(args.database_url, args.database_name)
    except psycopg.OperationalError as exc:  # no server there, or it refused us
        reason = str(exc).strip().splitlines()[0]
        print(f"error: cannot create the bench database on {shown_url(args.database_url)}: "
              f"{reason}", file=sys.stderr)
        return 1
    report = Report(machine=machine(url))
    if not args.no_http:
        report.load_generator = bench_http.choose_generator(args.load_generator)
    print(json.dumps(report.machine, indent=2))
    print(f"\nbench database {args.database_name}; {args.commands} commands per figure\n")
    ledger: Ledger | None = None
    try:
        ledger = build_ledger(settings)
        settle_heap()  # as `ledger serve`, `ledger import` and the replay's children do
        report.stage_done("start")
        run(ledger, settings=settings, url=url, report=report, args=args, threads=threads)
    finally:
        if ledger is not None:
            ledger.close()
        if not args.keep:
            recreate_database(args.database_url, args.database_name, drop_only=True)
    print_table(report, args)
    if args.json:
        args.json.write_text(json.dumps(as_json(report, args), indent=2) + "\n")
        print(f"\nwritten {args.json}")
    return 0


def run(ledger: Ledger, *, settings: Settings, url: str, report: Report,
        args: argparse.Namespace, threads: list[int]) -> None:
    # The raw baseline of each client setting runs just before its commands, so that both
    # see the same load on the machine (a shared machine drifts within minutes).
    raw_setup(url)
    ledger.execute(ADMIN, CreateProgramme(
        programme_id="bench-commands", name="Bench commands",
                            funder="Bench"
    ))
    ledger.execute(FINANCE, AppropriateBudget(
        programme_id="bench-commands", fiscal_year=START_YEAR,
        amount=money("1000000000.00"), effective_date=date(START_YEAR, 1, 1)))
    # The tenth of the large log comes first, so that the queries at N/10 see a tenth of the
    # events at N (the command figures add ~6 × 3 × --commands events and, with many
    # threads, far more positions: lost races leave gaps).
    print(f"(c) generating {args.events} events: a tenth now, the rest after the commands")
    log = NationalLog(ledger, report, events=args.events, batch=args.batch)
    log.setup()
    log.grow(0.1)
    projected = 0 if args.no_http else http_stages(ledger, log, report, args, url,
                                                    since=0, writes=False)
    rows = max(args.commands, RAW_MIN_ROWS)
    for t in [1, *threads]:
        label = "1 client" if t == 1 else f"{t} threads"
        print(f"(b) raw PostgreSQL, one INSERT + COMMIT per row, {label}")
        seconds = raw_single_inserts(url, rows, threads=t, size=600)
        report.add(Figure(f"raw INSERT+COMMIT ({label})", rows, seconds, "rows"))
        print(f"(a) commands through the Ledger API, {label}")
        bench_commands(ledger, report, count=args.commands, threads=t,
                       phase_id=f"cmd-{t}", programme_id="bench-commands")
        if t > 1:
            bench_mixed(ledger, report, count=args.commands, threads=t,
                        phase_id=f"mix-{t}", programme_id="bench-commands")
    report.stage_done("commands")
    print("(c) generating the rest of the large log")
    log.grow(1.0)
    written, transactions = log.finish()
    report.stage_done("generate")
    state = _average_state_size(url, str(ledger.recorder.events_table_name))  # type: ignore[attr-defined]  # a PostgresApplicationRecorder
    per_transaction = max(1, written // max(1, transactions))
    seconds = raw_batched_inserts(url, written, batch=args.batch * EVENTS_PER_APPLICATION,
                                  size=state)
    report.add(Figure("raw batched INSERT", written, seconds, "rows",
                      note=f"{args.batch * EVENTS_PER_APPLICATION} rows of {state} bytes "
                           f"per transaction (the log: ~{per_transaction} events/txn)"))
    if not args.no_http:
        http_stages(ledger, log, report, args, url, since=projected, writes=True)
        report.stage_done("http")
    print(f"(d) reading the log (head position {ledger.head()[0]})")
    bench_reads(ledger, settings, url, report)
    report.stage_done("end")


def http_stages(ledger: Ledger, log: NationalLog, report: Report, args: argparse.Namespace,
                url: str, *, since: int, writes: bool) -> int:
    """(e) the queries through `ledger serve` and, with `writes`, (f) its commands.

    Returns the number of events the server's projections caught up with.
    """
    head = ledger.head()[0]
    table = str(ledger.recorder.events_table_name)  # type: ignore[attr-defined]  # a PostgresApplicationRecorder
    events = _count_events(url, table)
    stage = bench_http.QueryStage(clients=args.http_clients, seconds=args.query_seconds,
                                  timeout=args.query_timeout, generator=report.load_generator)
    print(f"(e) HTTP queries through `ledger serve` at {events} events ({stage.generator}, "
          f"{stage.clients} clients and 1, {stage.seconds} s each)")
    with bench_http.Server(url, timeout=args.query_timeout) as server:
        seconds = server.wait_caught_up(head=head, limit=120 + head / 1000)
        report.add(Figure(f"serve: start, projections catch up ({events} ev)",
                          events - since, seconds, "events",
                          baseline="raw read (server-side cursor)"))
        seconds = server.wait_verified(head=head, limit=120 + head / 1000)
        report.add(Figure(f"serve: integrity checkpoint to the head ({events} ev)",
                          events - since, seconds, "events",
                          baseline="raw read (server-side cursor)"))
        flushed = flush_writes(url)
        print(f"  settle: the writes of the stages before flushed (CHECKPOINT, sync) in "
              f"{flushed:.1f} s")
        ids = bench_http.QueryIds(
            programme_id=log.programme_id,
            phase_ids=[f"nat-{y}" for y in range(START_YEAR, START_YEAR + YEARS)],
            years=list(range(START_YEAR, START_YEAR + YEARS)),
            # 1,000 ids at each log size: more than the server keeps answers for (256),
            # so both sizes measure the same mix of kept and computed answers.
            application_ids=log.sample[::max(1, len(log.sample) // 1000)][:1000],
            head=head, events=events, since=log.setup_position)
        report.http += bench_http.query_stage(server, ids, stage)
        if writes:
            rows = max(args.commands, RAW_MIN_ROWS)
            name = f"raw INSERT+COMMIT ({args.http_clients} threads, HTTP writes)"
            print(f"(b) raw PostgreSQL, one INSERT + COMMIT per row, {args.http_clients} threads")
            seconds = raw_single_inserts(url, rows, threads=args.http_clients, size=600)
            report.add(Figure(name, rows, seconds, "rows"))
            print(f"(f) HTTP commands through `ledger serve`, {args.http_clients} clients, "
                  f"{args.write_seconds} s")
            report.http += bench_http.write_stage(server, clients=args.http_clients,
                                                  seconds=args.write_seconds,
                                                  timeout=args.query_timeout,
                                                  events=_count_events(url, table),
                                                  baseline=name)
    if writes:  # the same commands with the projections in a process of their own
        print(f"(f) HTTP commands through `ledger serve --projector`, {args.http_clients} "
              f"clients, {args.write_seconds} s")
        with bench_http.Server(url, timeout=args.query_timeout,
                               serve_args=("--projector",)) as server:
            server.wait_caught_up(head=ledger.head()[0], limit=120)
            report.http += bench_http.write_stage(server, clients=args.http_clients,
                                                  seconds=args.write_seconds,
                                                  timeout=args.query_timeout,
                                                  events=_count_events(url, table),
                                                  baseline=name, label="--projector")
    return events


def flush_writes(url: str) -> float:
    """Flushes what the stages before wrote and the disk has not yet (PostgreSQL's dirty
    buffers, the kernel's dirty pages: after the server's rebuild of a 1M log, ~1 GB
    written back in bursts over the next half minute), so the queries measure the answers,
    not that write-back. CHECKPOINT needs a superuser or pg_checkpoint; without them, and
    with the server on another host, the local `sync` does what it can. Returns seconds."""
    started = time.perf_counter()
    try:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.Error as exc:
        print(f"  (no CHECKPOINT: {str(exc).strip()[:120]})")
    os.sync()
    return time.perf_counter() - started


def _count_events(url: str, table: str) -> int:
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


def _average_state_size(url: str, table: str) -> int:
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute(sql.SQL("SELECT COALESCE(AVG(length(state)), 600) FROM {}").format(
            sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 600


if __name__ == "__main__":
    sys.exit(main())
