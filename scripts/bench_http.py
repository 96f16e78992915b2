"""The bench's HTTP stages (issues 7 and 8): `ledger serve` as a real process, driven from outside.

- queries: each query of the read side under 16 concurrent keep-alive clients for a fixed time
  (Debian's `wrk` when it is on PATH, else the asyncio client of scripts/bench_load.py in its
  own process), and under one client; beside the trivial endpoint measured the same way;
- writes: 16 asyncio clients issuing submit → approve → request drawdown → pay.

Only the documented HTTP surface is used (SPEC §6), so the stages keep working when the read
side or the HTTP stack changes underneath. Every request has a timeout, and a query that leaves
work running on the server is waited for (or the server restarted) before the next one starts.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

ROLES = ("admin", "clerk", "approver", "finance", "auditor")
SETTLE_LIMIT = 30.0  # seconds to wait for left-over work before restarting the server
WRITE_PROGRAMME, WRITE_PHASE, WRITE_DAY = "bench-http", "http-2020", "2020-06-01"
RECIPIENTS_PER_CLIENT = 4


@dataclass
class HttpFigure:
    """One endpoint under load: answered requests, latency, and every status seen."""

    stage: str  # "queries" or "writes"
    events: int  # log size when measured: stored events (positions have gaps)
    name: str
    clients: int
    requests: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None
    statuses: dict[str, int] = field(default_factory=dict)
    baseline: str | None = None  # the trivial endpoint, or the raw INSERT+COMMIT figure

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def failures(self) -> dict[str, int]:
        """Every answer that is not 2xx, plus timeouts and broken connections."""
        return {s: n for s, n in sorted(self.statuses.items()) if not s.startswith("2")}

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "rate_per_s": round(self.rate, 1), "failures": self.failures}


@dataclass(frozen=True)
class QueryIds:
    """What the queries ask about, chosen from the generated log."""

    programme_id: str
    phase_ids: list[str]
    years: list[int]
    application_ids: list[str]
    head: int  # the position every projection must reach first
    events: int  # stored events up to it
    since: int  # the first position at which every phase exists (for as_of_position)


def queries(ids: QueryIds, *, rng: random.Random) -> list[tuple[str, list[str]]]:
    """(name, paths to pick from at random): ids vary across requests so caches don't flatter.

    /integrity goes last: it is the slowest and leaves the most work behind on the server.
    """
    phases, pid = ids.phase_ids, ids.programme_id
    past = [(rng.choice(phases), rng.randint(ids.since, max(ids.since, ids.head)))
            for _ in range(200)]
    # business dates across the years: "what did we know at n about the money of day d"
    days = [date(rng.choice(ids.years), 1, 1) + timedelta(days=rng.randint(0, 364))
            for _ in range(200)]
    return [
        ("GET /phases/{id}/totals", [f"/phases/{p}/totals" for p in phases]),
        ("GET /phases/{id}/totals?as_of_position=",
         [f"/phases/{p}/totals?as_of_position={n}" for p, n in past]),
        ("GET /phases/{id}/totals?effective_on=",
         [f"/phases/{p}/totals?effective_on={d}" for (p, _), d in zip(past, days, strict=True)]),
        ("GET /phases/{id}/totals?as_of_position=&effective_on=",
         [f"/phases/{p}/totals?as_of_position={n}&effective_on={d}"
          for (p, n), d in zip(past, days, strict=True)]),
        ("GET /programmes/{pid}/reconciliation/{year}",
         [f"/programmes/{pid}/reconciliation/{y}" for y in ids.years]),
        ("GET /programmes/{pid}/reconciliation/{year}?as_of_position=&effective_on=",
         [f"/programmes/{pid}/reconciliation/{d.year}?as_of_position={n}&effective_on={d}"
          for (_, n), d in zip(past, days, strict=True)]),
        ("GET /programmes/{pid}/accounts", [f"/programmes/{pid}/accounts"]),
        ("GET /applications/{id}", [f"/applications/{a}" for a in ids.application_ids]),
        ("GET /audit?limit=100", ["/audit?limit=100"]),
        ("GET /phases/{id}/totals/paid/entries?limit=100",
         [f"/phases/{p}/totals/paid/entries?limit=100" for p in phases]),
        ("GET /integrity", ["/integrity"]),
    ]


# -- the server ----------------------------------------------------------------------------


class Server:
    """`ledger serve` in a subprocess on a free port, with a keys file for every role."""

    def __init__(self, database_url: str, *, timeout: float,
                 serve_args: tuple[str, ...] = ()) -> None:
        self.database_url = database_url
        self.timeout = timeout
        self.serve_args = serve_args  # e.g. ("--projector",)
        self.workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
        self.keys = {role: f"bench-{role}-{secrets.token_urlsafe(18)}" for role in ROLES}
        self.keys_file = self.workdir / "keys.json"
        self.keys_file.write_text(json.dumps({"keys": [
            {"key": key, "user": f"bench-http-{role}", "roles": [role]}
            for role, key in self.keys.items()]}))
        self.log_file = self.workdir / "serve.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
        if error is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print(f"  server log kept: {self.log_file}")

    def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, "LEDGER_DATABASE_URL": self.database_url,
               "LEDGER_API_KEYS_FILE": str(self.keys_file), "LEDGER_LOG_FORMAT": "json",
               # The bench measures what the server can answer, not the per-key policy:
               # its few keys loop /integrity far beyond any limit meant for people.
               "LEDGER_RATE_LIMIT": ""}
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and module
                [sys.executable, "-m", "scripts.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), *self.serve_args], env=env, stdout=log,
                stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, *, head: int) -> None:
        self.stop()
        self.start()
        self.wait_caught_up(head=head, limit=120)

    def wait_caught_up(self, *, head: int, limit: float) -> float:
        """Waits until /health answers and every projection reached `head`; returns seconds.

        Raises RuntimeError when the server exits or does not catch up within `limit`.
        """
        def caught_up() -> bool:
            status, _, body = self.request("GET", "/health", timeout=5)
            projections = json.loads(body).get("projections", [])
            return bool(projections and all(p["position"] >= head for p in projections)) or (
                not projections and status == 200)

        return self._wait(caught_up, limit=limit, what=f"catch up with {head}")

    def wait_verified(self, *, head: int, limit: float) -> float:
        """Waits until `GET /integrity` has verified the chain up to `head`; returns seconds.
        A server started on a log far ahead of the checkpoint verifies it in a child
        process (ledger/keeper.py) that takes a core meanwhile: queries measured then
        would share the machine with it.

        Raises RuntimeError when the server exits, the chain is not verified, or not
        within `limit`."""
        def verified() -> bool:
            status, _, body = self.request("GET", "/integrity", key=self.keys["auditor"],
                                           timeout=5)
            answer = json.loads(body)
            if status == 200 and answer.get("broken_at") is not None:
                raise RuntimeError(f"the chain is broken: {answer.get('problem')}")
            return status == 200 and answer.get("verified_position", -1) >= head

        return self._wait(verified, limit=limit, what=f"verify the chain up to {head}")

    def _wait(self, done: Callable[[], bool], *, limit: float, what: str) -> float:
        """Asks `done` every 0.2 s (a request that fails counts as not yet) until it says
        so; returns seconds. Raises RuntimeError when the server exits or after `limit`."""
        start = time.perf_counter()
        while time.perf_counter() - start < limit:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"ledger serve exited; see {self.log_file}:\n{self.tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                if done():
                    return time.perf_counter() - start
            time.sleep(0.2)
        raise RuntimeError(f"ledger serve did not {what} in {limit:.0f} s; "
                           f"see {self.log_file}:\n{self.tail()}")

    def request(self, method: str, path: str, *, key: str | None = None, body: Any = None,
                timeout: float | None = None) -> tuple[int, float, bytes]:
        """One request on a fresh connection: (status, seconds, body)."""
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                timeout=timeout or self.timeout)
        try:
            start = time.perf_counter()
            connection.request(method, path, None if body is None else json.dumps(body),
                               headers)
            response = connection.getresponse()
            content = response.read()
            return response.status, time.perf_counter() - start, content
        finally:
            connection.close()

    def settle(self, *, idle: float, head: int) -> float:
        """Waits until /health answers about as fast as when idle: clients that gave up
        leave their requests running on the server, and they would slow the next query.
        Restarts the server if that takes over SETTLE_LIMIT seconds. Returns seconds."""
        start, quick = time.perf_counter(), 0
        while quick < 3:
            if time.perf_counter() - start > SETTLE_LIMIT:
                print(f"  server still busy after {SETTLE_LIMIT:.0f} s: restarting it")
                self.restart(head=head)
                break
            try:
                _, seconds, _ = self.request("GET", "/health", timeout=SETTLE_LIMIT)
            except (OSError, http.client.HTTPException):
                seconds = SETTLE_LIMIT
            quick = quick + 1 if seconds <= max(0.025, 4 * idle) else 0
            time.sleep(0.05)
        return time.perf_counter() - start

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- load generators ---------------------------------------------------------------------------


def asyncio_load(job: dict[str, Any], *, limit: float) -> dict[str, Any]:
    """Runs scripts/bench_load.py on `job` in its own process; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "scripts.bench_load"], input=json.dumps(job), text=True,
        capture_output=True, timeout=limit, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


WRK_SCRIPT = """\
-- scripts/bench_http.py: a random path of a file per request; counts every status.
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  paths, counts = {}, {}
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(paths, line) end
  end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  math.randomseed(os.time() * 100 + id)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
function response(status, headers, body)
  counts[tostring(status)] = (counts[tostring(status)] or 0) + 1
end
function done(summary, latency, requests)
  local merged, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do merged[status] = (merged[status] or 0) + n end
  end
  for status, n in pairs(merged) do table.insert(parts, string.format('"%s": %d', status, n)) end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, ' ..
    '"p99_us": %d, "timeout": %d, "error": %d, "statuses": {%s}}\\n', summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), e.timeout,
    e.connect + e.read + e.write, table.concat(parts, ", ")))
end
"""


def wrk_load(server: Server, paths: list[str], *, clients: int, seconds: int,
             timeout: int) -> dict[str, Any]:
    """`wrk` with `clients` connections on 2 threads: the same answer as asyncio_load."""
    script, path_file = server.workdir / "bench.lua", server.workdir / "paths.txt"
    script.write_text(WRK_SCRIPT)
    path_file.write_text("\n".join(paths) + "\n")
    done = subprocess.run(  # noqa: S603  # wrk from PATH, arguments of our own
        [shutil.which("wrk") or "wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds}s",
         f"--timeout={timeout}s", "-s", str(script), server.base_url, "--", str(path_file),
         server.keys["auditor"]],
        capture_output=True, text=True, timeout=seconds + timeout + 30, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    statuses = {**raw["statuses"], "timeout": raw["timeout"], "error": raw["error"]}
    answered = raw["requests"] > 0
    return {"requests": raw["requests"], "seconds": raw["duration_us"] / 1e6,
            "p50_ms": raw["p50_us"] / 1000 if answered else None,
            "p99_ms": raw["p99_us"] / 1000 if answered else None,
            "statuses": {s: n for s, n in statuses.items() if n}}


def choose_generator(wanted: str) -> str:
    """'wrk' when asked or when on PATH (auto), else 'asyncio'.

    Raises RuntimeError when wrk is asked for and missing.
    """
    if wanted == "asyncio" or (wanted == "auto" and shutil.which("wrk") is None):
        return "asyncio"
    if shutil.which("wrk") is None:
        raise RuntimeError("--load-generator wrk: wrk is not on PATH (apt-get install wrk)")
    return "wrk"


# -- the stages --------------------------------------------------------------------------------


@dataclass
class QueryStage:
    """Settings of the query stage, the same at both log sizes."""

    clients: int
    seconds: int
    timeout: int
    generator: str  # "wrk" or "asyncio"


def trivial(server: Server) -> tuple[str, str]:
    """The cheapest endpoint to compare with: `GET /whoami` if it exists, else `/health`."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        status, _, _ = server.request("GET", "/whoami", key=server.keys["auditor"])
        if status == 200:
            return "GET /whoami (trivial)", "/whoami"
    return "GET /health (trivial)", "/health"


def query_stage(server: Server, ids: QueryIds, stage: QueryStage) -> list[HttpFigure]:
    """One client, then `stage.clients`, on the trivial endpoint and each query in turn.

    A query too slow for every client to get an answer within `stage.seconds` (one-client
    p50 × clients × 2 beyond it) runs longer, up to `stage.timeout`.
    """
    rng = random.Random(ids.head)
    base_name, base_path = trivial(server)
    idle = min(server.request("GET", "/health")[1] for _ in range(5))
    figures = []
    for name, paths in [(base_name, [base_path]), *queries(ids, rng=rng)]:
        seconds = stage.seconds
        for clients in (1, stage.clients):
            job = {"mode": "get", "base_url": server.base_url, "key": server.keys["auditor"],
                   "paths": paths, "clients": clients, "seconds": seconds,
                   "timeout": stage.timeout, "min_requests": 3 if clients == 1 else 0}
            if clients > 1 and stage.generator == "wrk":
                answer = wrk_load(server, paths, clients=clients, seconds=seconds,
                                  timeout=stage.timeout)
            else:
                answer = asyncio_load(job, limit=seconds + 4 * stage.timeout + 30)
            figure = HttpFigure("queries", ids.events, name, clients, answer["requests"],
                                answer["seconds"], answer["p50_ms"], answer["p99_ms"],
                                answer["statuses"], None if name == base_name else base_name)
            print_progress(figure)
            figures.append(figure)
            waited = server.settle(idle=idle, head=ids.head)
            if waited > 1:
                print(f"  {waited:.1f} s until the server finished the requests left behind")
            if figure.p50_ms is not None:
                needed = math.ceil(figure.p50_ms / 1000 * stage.clients * 2)
                seconds = max(stage.seconds, min(stage.timeout, needed))
    return figures


def write_stage(server: Server, *, clients: int, seconds: int, timeout: int, events: int,
                baseline: str, label: str = "") -> list[HttpFigure]:
    """`clients` asyncio clients, each running submit → approve → drawdown → pay; `label`
    names the setting (figures and ids), so a second stage on one store has its own."""
    suffix = f"-{label.strip('-')}" if label else ""
    recipients = [[f"http-r{c:03d}-{n}{suffix}" for n in range(RECIPIENTS_PER_CLIENT)]
                  for c in range(clients)]
    phase_id = f"{WRITE_PHASE}{suffix}"
    prepare_writes(server, [r for group in recipients for r in group],
                   programme_id=f"{WRITE_PROGRAMME}{suffix}", phase_id=phase_id)
    job = {"mode": "write", "base_url": server.base_url, "keys": server.keys,
           "phase_id": phase_id, "recipients": recipients, "day": WRITE_DAY,
           "clients": clients, "seconds": seconds, "timeout": timeout}
    answer = asyncio_load(job, limit=seconds + 4 * timeout + 30)
    shown = f" ({label})" if label else ""
    figures = [HttpFigure("writes", events, f"POST {step}{shown}", clients,
                          result["requests"], result["seconds"], result["p50_ms"],
                          result["p99_ms"], result["statuses"], baseline)
               for step, result in answer.items()]
    figures.insert(0, mix(figures, events=events, clients=clients, baseline=baseline,
                          name=f"POST command mix (all four){shown}"))
    for figure in figures:
        print_progress(figure)
    return figures


def mix(figures: list[HttpFigure], *, events: int, clients: int, baseline: str,
        name: str = "POST command mix (all four)") -> HttpFigure:
    """All commands of the write stage together (latency percentiles of the slowest kind)."""
    statuses: dict[str, int] = {}
    for f in figures:
        for status, n in f.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    p50s = [f.p50_ms for f in figures if f.p50_ms is not None]
    p99s = [f.p99_ms for f in figures if f.p99_ms is not None]
    return HttpFigure("writes", events, name, clients,
                      sum(f.requests for f in figures), max(f.seconds for f in figures),
                      max(p50s, default=None), max(p99s, default=None), statuses, baseline)


def prepare_writes(server: Server, recipient_ids: list[str], *,
                   programme_id: str = WRITE_PROGRAMME, phase_id: str = WRITE_PHASE) -> None:
    """A programme, a 2020 budget and a phase with room for every write, over HTTP.

    Raises RuntimeError when the server refuses a step.
    """
    admin = server.keys["admin"]
    big = "1000000000.00"
    kinds = ["gemeinde", "stadt", "kreisfreie_stadt", "landkreis"]
    for path, body in (
        ("/programmes", {"programme_id": programme_id, "name": "Bench HTTP writes",
                         "funder": "Bench"}),
        (f"/programmes/{programme_id}/budgets",
         {"fiscal_year": 2020, "amount": big, "effective_date": "2020-01-01"}),
        (f"/programmes/{programme_id}/phases",
         {"phase_id": phase_id, "name": "Bench HTTP 2020", "fiscal_year": 2020,
          "envelope": big, "opens_on": "2020-01-01", "closes_on": "2020-12-31",
          "eligible_kinds": kinds, "max_open_per_recipient": 1000}),
        ("/recipients", {"recipients": [
            {"recipient_id": r, "name": f"Gemeinde {r}", "kind": "gemeinde"}
            for r in recipient_ids]}),
    ):
        status, _, content = server.request("POST", path, key=admin, body=body)
        if not 200 <= status < 300:
            raise RuntimeError(f"POST {path}: {status} {content[:500]!r}")


# -- output ------------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def print_progress(f: HttpFigure) -> None:
    failures = ", ".join(f"{s}: {n}" for s, n in f.failures.items()) or "none"
    print(f"  {f.name:<46} {f.clients:>2} cl {f.requests:>7} req {f.rate:>8.0f}/s  p50 "
          f"{ms(f.p50_ms):>7} ms  p99 {ms(f.p99_ms):>7} ms  non-2xx: {failures}", flush=True)


def print_tables(figures: list[HttpFigure], rates: dict[str, float]) -> None:
    """The query tables (one per log size), the flatness table and the write table."""
    by_key = {(f.stage, f.events, f.name, f.clients): f for f in figures}
    sizes = sorted({f.events for f in figures if f.stage == "queries"})
    for events in sizes:
        rows = [f for f in figures if f.stage == "queries" and f.events == events
                and f.clients > 1]
        print(f"\nHTTP queries at {events:,} events ({rows[0].clients if rows else '?'} "
              "clients; one client beside)")
        print("| query                                          |  req/s | p50 ms | p99 ms | "
              "non-2xx           | 1 cl p50 | 1 cl p99 | trivial req/s | ratio |")
        print(f"|{'-' * 48}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 19}|{'-' * 10}|{'-' * 10}|"
              f"{'-' * 15}|{'-' * 7}|")
        for f in rows:
            one = by_key.get(("queries", events, f.name, 1))
            base = by_key.get(("queries", events, f.baseline or "", f.clients))
            ratio = f"{f.rate / base.rate:.2f}" if base and base.rate else ""
            print(f"| {f.name:<46} | {f.rate:>6.0f} | {ms(f.p50_ms):>6} | {ms(f.p99_ms):>6} | "
                  f"{failure_text(f):<17} | {ms(one.p50_ms if one else None):>8} | "
                  f"{ms(one.p99_ms if one else None):>8} | "
                  f"{f'{base.rate:.0f}' if base else '':>13} | {ratio:>5} |")
    if len(sizes) == 2:
        print_flatness(figures, sizes)
    writes = [f for f in figures if f.stage == "writes"]
    if writes:
        print(f"\nHTTP writes at {writes[0].events:,} events ({writes[0].clients} clients, "
              "409 = refused by a business rule)")
        print("| command                                        |  count |  cmd/s | p50 ms | "
              "p99 ms | non-2xx          | raw INSERT+COMMIT /s | ratio |")
        print(f"|{'-' * 48}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 18}|{'-' * 22}|"
              f"{'-' * 7}|")
        for f in writes:
            raw = rates.get(f.baseline or "")
            print(f"| {f.name:<46} | {f.requests:>6} | {f.rate:>6.0f} | {ms(f.p50_ms):>6} | "
                  f"{ms(f.p99_ms):>6} | {failure_text(f):<16} | "
                  f"{f'{raw:.0f}' if raw else '':>20} | "
                  f"{f'{f.rate / raw:.3f}' if raw else '':>5} |")


def print_flatness(figures: list[HttpFigure], sizes: list[int]) -> None:
    small, large = sizes
    print(f"\nFlatness: p50 at {large:,} events against {small:,} (target ≤ 1.2); "
          "÷ trivial: that ratio over the trivial endpoint's own (the machine's drift "
          "between the two stages taken out)")
    many = next((f.clients for f in figures if f.clients > 1), "n")
    print(f"| {'query':<46} | 1 cl p50 | 1 cl p50 |  ratio | ÷ trivial | "
          f"{f'{many} cl p50':>9} | {f'{many} cl p50':>9} |  ratio | ÷ trivial |")
    print(f"| {'':<46} | {f'@{small}':>8} | {f'@{large}':>8} |        |           | "
          f"{f'@{small}':>9} | {f'@{large}':>9} |        |           |")
    print(f"|{'-' * 48}|{'-' * 10}|{'-' * 10}|{'-' * 8}|{'-' * 11}|{'-' * 11}|{'-' * 11}|"
          f"{'-' * 8}|{'-' * 11}|")
    for row in flatness(figures, sizes):
        print(f"| {row['name']:<46} | {fine_ms(row['one_client_p50_ms'][0]):>8} | "
              f"{fine_ms(row['one_client_p50_ms'][1]):>8} | "
              f"{ratio_text(row['one_client_ratio'])} | "
              f"{ratio_text(row['one_client_ratio_to_trivial']):>9} | "
              f"{fine_ms(row['many_clients_p50_ms'][0]):>9} | "
              f"{fine_ms(row['many_clients_p50_ms'][1]):>9} | "
              f"{ratio_text(row['many_clients_ratio'])} | "
              f"{ratio_text(row['many_clients_ratio_to_trivial']):>9} |")


def fine_ms(value: float | None) -> str:
    """Milliseconds to the hundredth: a one-client p50 is often under a millisecond."""
    return "—" if value is None else f"{value:.2f}"


def flatness(figures: list[HttpFigure], sizes: list[int]) -> list[dict[str, Any]]:
    """Per query: p50 at both sizes and their ratio, for one client and for many; and that
    ratio divided by the trivial endpoint's (`*_ratio_to_trivial`: 1.0 for the trivial
    endpoint itself, and for a query without a baseline the ratio stands alone; None where
    the baseline lacks a p50 at either size). The trivial endpoint does the same work at
    any log size, so its own ratio is the machine's drift between the two stages."""
    queries = [f for f in figures if f.stage == "queries"]

    def p50s(name: str, one: bool) -> list[float | None]:
        return [next((f.p50_ms for f in queries if f.events == n and f.name == name
                      and (f.clients == 1) == one), None) for n in sizes]

    def ratio(values: list[float | None]) -> float | None:
        first, last = values
        return last / first if first and last is not None else None

    rows = []
    for name in dict.fromkeys(f.name for f in queries):
        baseline = next((f.baseline for f in queries if f.name == name and f.baseline), None)
        row: dict[str, Any] = {"name": name}
        for label, one in (("one_client", True), ("many_clients", False)):
            own = ratio(p50s(name, one))
            drift = ratio(p50s(baseline, one)) if baseline else own
            row[f"{label}_p50_ms"] = p50s(name, one)
            row[f"{label}_ratio"] = None if own is None else round(own, 2)
            row[f"{label}_ratio_to_trivial"] = (round(own / drift, 2)
                                                if own is not None and drift else None)
        rows.append(row)
    return rows


def ratio_text(ratio: float | None) -> str:
    """The ratio, marked with ! above the 1.2 target."""
    return f"{'—' if ratio is None else f'{ratio:.2f}':>5}{'!' if ratio and ratio > 1.2 else ' '}"


def failure_text(f: HttpFigure) -> str:
    text = ", ".join(f"{s}: {n}" for s, n in f.failures.items())
    if f.requests == 0:
        return f"{text}, no answer" if text else f"no answer in {f.seconds:.0f} s"
    return text or "0"


def as_json(figures: list[HttpFigure], *, generator: str | None) -> dict[str, Any]:
    sizes = sorted({f.events for f in figures if f.stage == "queries"})
    return {
        "load_generator": generator,
        "queries": [f.as_json() for f in figures if f.stage == "queries"],
        "flatness": flatness(figures, sizes) if len(sizes) == 2 else [],
        "writes": [f.as_json() for f in figures if f.stage == "writes"],
    }

