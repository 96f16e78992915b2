"""The bench's asyncio load generator, run in a process of its own (`python -m scripts.bench_load`).

It reads one job as JSON on standard input and writes its result as JSON on standard output:

- `{"mode": "get", "base_url", "key", "paths", "clients", "seconds", "timeout", "min_requests"}`:
  `clients` keep-alive connections each GET a random path of `paths` until `seconds` have
  passed and `min_requests` answered (one client on a slow query still gets a few samples);
- `{"mode": "write", "base_url", "keys": {clerk, approver, finance}, "phase_id",
  "recipients": [[...] per client], "day", "clients", "seconds", "timeout"}`: each client
  runs submit → approve → request drawdown → pay with the keys of three different users
  (four eyes), starting over when a step is refused.

A separate process, so the bench's own interpreter is never the load generator's bottleneck;
plain asyncio streams (HTTP/1.1 keep-alive), so it needs nothing beyond the standard library.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = "timeout"  # the status counted for a request without an answer in time
ERROR = "error"  # the status counted for a broken connection


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened after any error."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, *, key: str | None = None,
                      body: Any = None) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None  # set together with the writer
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        if key is not None:
            head.append(f"Authorization: Bearer {key}")
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await self._writer.drain()
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self._reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = await self._chunks()
        else:
            content = await self._reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, content

    async def _chunks(self) -> bytes:
        assert self._reader is not None  # only called mid-response
        parts = []
        while size := int((await self._reader.readline()).split(b";")[0], 16):
            parts.append(await self._reader.readexactly(size))
            await self._reader.readline()
        await self._reader.readline()
        return b"".join(parts)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass
class Tally:
    """Latencies of the answered requests and the count of every status (2xx included)."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    def as_json(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {"requests": len(ordered), "seconds": seconds,
                "p50_ms": percentile(ordered, 50), "p99_ms": percentile(ordered, 99),
                "statuses": dict(self.statuses)}


def percentile(ordered: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in milliseconds (None without samples)."""
    if not ordered:
        return None
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank] * 1000


async def timed(tally: Tally, connection: Connection, method: str, path: str, *,
                key: str | None, timeout: float, body: Any = None) -> tuple[int, bytes]:
    """One request; a timeout or broken connection counts as its own status (0 returned)."""
    start = time.perf_counter()
    try:
        status, content = await asyncio.wait_for(
            connection.request(method, path, key=key, body=body), timeout)
    except TimeoutError:
        connection.close()
        tally.statuses[TIMEOUT] += 1
        return 0, b""
    except (OSError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError):
        connection.close()
        tally.statuses[ERROR] += 1
        return 0, b""
    tally.latencies.append(time.perf_counter() - start)
    tally.statuses[str(status)] += 1
    return status, content


async def run_gets(job: dict[str, Any]) -> dict[str, Any]:
    tally = Tally()
    paths: list[str] = job["paths"]
    deadline = time.perf_counter() + job["seconds"]
    minimum = job.get("min_requests", 0)

    async def client() -> None:
        connection = Connection(job["base_url"])
        try:
            while time.perf_counter() < deadline or len(tally.latencies) < minimum:
                await timed(tally, connection, "GET", random.choice(paths), key=job["key"],
                            timeout=job["timeout"])
                if tally.statuses[TIMEOUT] + tally.statuses[ERROR] >= max(minimum, 1) * 3:
                    return  # a query that never answers must not hold the bench
        finally:
            connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(job["clients"])))
    return tally.as_json(time.perf_counter() - start)


STEPS = ("submit_application", "approve_application", "request_drawdown", "pay_drawdown")


async def run_writes(job: dict[str, Any]) -> dict[str, Any]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    keys: dict[str, str] = job["keys"]
    day = job["day"]
    deadline = time.perf_counter() + job["seconds"]

    async def client(recipients: list[str]) -> None:
        connection = Connection(job["base_url"])

        async def post(step: str, path: str, key: str, body: Any) -> dict[str, Any] | None:
            status, content = await timed(tallies[step], connection, "POST", path, key=key,
                                          body=body, timeout=job["timeout"])
            return json.loads(content) if 200 <= status < 300 else None

        try:
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                app = await post("submit_application", "/applications", keys["clerk"], {
                    "phase_id": job["phase_id"], "recipient_id": recipients[n % len(recipients)],
                    "requested_amount": "1000.00", "submitted_on": day})
                if app is None:
                    continue
                base = f"/applications/{app['application_id']}"
                if await post("approve_application", f"{base}/approve", keys["approver"],
                              {"approved_amount": "1000.00", "decided_on": day}) is None:
                    continue
                drawdown = await post("request_drawdown", f"{base}/drawdowns", keys["clerk"],
                                      {"amount": "600.00", "requested_on": day})
                if drawdown is None:
                    continue
                await post("pay_drawdown", f"{base}/drawdowns/{drawdown['drawdown_id']}/pay",
                           keys["finance"], {"paid_on": day})
        finally:
            connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(r) for r in job["recipients"][: job["clients"]]))
    seconds = time.perf_counter() - start
    return {step: tallies[step].as_json(seconds) for step in STEPS}


def main() -> int:
    job = json.load(sys.stdin)
    runner = run_gets if job["mode"] == "get" else run_writes
    json.dump(asyncio.run(runner(job)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
