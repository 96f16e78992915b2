"""Real `ledger serve` processes on one database: exactly one runs the projections, a
follower takes over when the leader is killed, and `--workers 2` serves from both."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.faults import eventually
from tests.support.server import LEDGER, Server

ADMIN_KEY = "e2e-admin-key-0123456789"
Serve = Callable[..., Server]


@pytest.fixture
def serve(sql_database_url: str, tmp_path: Path) -> Iterator[Serve]:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [{"key": ADMIN_KEY, "user": "ada",
                                          "roles": ["admin"]}]}))
    env = {**os.environ, "LEDGER_DATABASE_URL": sql_database_url,
           "LEDGER_API_KEYS_FILE": str(keys), "LEDGER_LOG_FORMAT": "json"}
    servers: list[Server] = []

    def start(*args: str) -> Server:
        servers.append(Server(env, *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def write_and_read_back(server: Server, programme_id: str) -> int:
    """A command, then a query that waits for the projections to reach it."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = httpx.post(f"{server.base}/programmes", headers=headers, timeout=30, json={
        "programme_id": programme_id, "name": "Starke Heimat", "funder": "Hessen"})
    assert created.status_code == 201, created.text
    position = int(created.json()["position"])
    read = httpx.get(f"{server.base}/programmes/{programme_id}", headers=headers, timeout=30,
                     params={"min_position": position})
    return read.status_code


def test_one_of_two_servers_runs_the_projections_and_the_other_takes_over(serve: Serve) -> None:
    servers = [serve(), serve()]
    roles = [eventually(s.health)["runner"] for s in servers]
    leader, follower = (servers if roles[0] == "leader" else servers[::-1])

    read_on_follower = write_and_read_back(follower, "p-before")
    leader.kill()
    eventually(lambda: (follower.health() or {}).get("runner") == "leader")
    read_after_takeover = write_and_read_back(follower, "p-after")
    log = follower.stop()

    assert sorted(roles) == ["follower", "leader"]
    assert read_on_follower == 200 and read_after_takeover == 200
    events = [json.loads(line)["event"] for line in log.splitlines() if line.startswith("{")]
    assert events.count("projections_following") == 1
    assert events.count("projections_leading") == 1


def test_two_workers_serve_and_elect_one_runner(serve: Serve) -> None:
    server = serve("--workers", "2")

    seen: dict[int, str] = {}

    def both_workers_answered() -> bool:
        health = server.health()
        if health is not None:
            seen[health["pid"]] = health["runner"]
        # A worker that has not yet tried the lock is neither leader nor follower.
        return len(seen) == 2 and set(seen.values()) <= {"leader", "follower"}

    eventually(both_workers_answered, timeout=60)
    status = write_and_read_back(server, "p-workers")
    log = server.stop()

    assert sorted(seen.values()) == ["follower", "leader"]
    assert status == 200
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert sum(line["event"] == "api_started" for line in lines) == 2  # one line each


def test_a_memory_ledger_refuses_several_workers(tmp_path: Path) -> None:
    env = {**os.environ, "LEDGER_DATABASE_URL": "memory://"}

    result = subprocess.run([LEDGER, "serve", "--workers", "2"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 2 and "--workers 1" in result.stderr


def test_metrics_of_two_workers_add_up_on_either(serve: Serve) -> None:
    server = serve("--workers", "2")
    pids: list[int] = []

    def both_workers_answered() -> bool:
        health = server.health()
        if health is not None:
            pids.append(health["pid"])
        return len(set(pids)) == 2

    eventually(both_workers_answered, timeout=60)  # /health on both, some on each
    scrapes = [httpx.get(f"{server.base}/metrics", timeout=10,
                         headers={"Connection": "close"}).text for _ in range(4)]
    server.stop()

    def health_count(text: str) -> float:
        for line in text.splitlines():
            if line.startswith('ledger_http_requests_total{method="GET",route="/health"'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    # Every scrape, whichever worker answers it, counts the /health answers of both
    # (one worker alone answered fewer than all of them).
    counts = [health_count(text) for text in scrapes]
    assert min(counts) >= len(pids) and len(set(counts)) == 1, (counts, pids)
    assert all("ledger_head_position" in text for text in scrapes)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_projector_process_runs_the_projections_and_the_server_takes_over_if_it_dies(
    serve: Serve,
) -> None:
    """`--projector`: the child leads, the server follows and reads its own writes back;
    when the child dies the server's runner takes the projections over."""
    server = serve("--projector")
    health = eventually(server.health)
    children = _children(server.process.pid)
    status = write_and_read_back(server, "p-projector")

    assert health["runner"] == "follower" and len(children) == 1
    assert status == 200
    os.kill(children[0], signal.SIGKILL)
    eventually(lambda: (server.health() or {}).get("runner") == "leader", timeout=30)
    assert write_and_read_back(server, "p-after-projector") == 200
    log = server.stop()
    events = [json.loads(line)["event"] for line in log.splitlines() if line.startswith("{")]
    assert events.count("projector_started") == 1
    assert events.count("projector_exited") == 1
    assert events.count("projections_leading") == 2  # the child, then the server


def test_stopping_the_server_stops_its_projector(serve: Serve) -> None:
    server = serve("--projector")
    eventually(server.health)
    child = _children(server.process.pid)[0]

    server.stop()

    assert eventually(lambda: not Path(f"/proc/{child}").exists(), timeout=30)


def test_a_memory_ledger_refuses_a_projector() -> None:
    env = {**os.environ, "LEDGER_DATABASE_URL": "memory://"}

    result = subprocess.run([LEDGER, "serve", "--projector"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 2 and "--projector" in result.stderr


def test_a_worker_that_dies_is_logged_and_its_successor_names_itself(serve: Serve) -> None:
    """uvicorn's supervisor logs through the standard library: its lines reach the log as
    ours (JSON here), so a worker killed and restarted leaves a trace by pid."""
    server = serve("--workers", "2")
    pids: set[int] = set()

    def both_workers_answered() -> bool:
        health = server.health()
        if health is not None:
            pids.add(int(health["pid"]))
        return len(pids) == 2

    eventually(both_workers_answered, timeout=60)
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)

    def a_successor_answered() -> bool:
        health = server.health()
        return health is not None and int(health["pid"]) not in pids

    eventually(a_successor_answered, timeout=60)
    log = server.stop()

    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert {"event": f"Child process [{victim}] died", "logger": "uvicorn.error"}.items() \
        <= next(line for line in lines if str(victim) in line["event"]
                and "died" in line["event"]).items()
    started = [line["pid"] for line in lines if line["event"] == "api_started"]
    assert len(started) == 3 and victim in started and len(set(started)) == 3


MALFORMED = (
    b"GET /whoami HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",  # a header without ':'
    # a URL beyond the parser's ~64 KiB (sent whole: the server reads it all before it
    # closes, so the kernel does not reset the connection over unread bytes)
    b"GET /whoami?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"NOT-HTTP\r\n\r\n",
    b"POST /programmes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
)


def raw_exchange(port: int, request: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """Sends bytes as they are and reads the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        # (should the server close with bytes of ours unread, the kernel resets the
        # connection after its answer: read to that end too)
        with contextlib.suppress(ConnectionResetError):
            while chunk := connection.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(b": ") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_request_http_cannot_parse_gets_a_problem_document(serve: Serve,
                                                              workers: str) -> None:
    server = serve("--workers", workers)

    answers = [raw_exchange(server.port, request) for request in MALFORMED]

    for status, headers, body in answers:
        assert status == b"HTTP/1.1 400 Bad Request"
        assert headers[b"content-type"] == b"application/problem+json"
        assert headers[b"connection"] == b"close"
        assert int(headers[b"content-length"]) == len(body)
        problem = json.loads(body)
        assert problem["status"] == 400 and problem["code"] == "bad_request"
        assert problem["type"] == "/problems/bad_request" and problem["detail"]
    assert server.health() is not None  # and it serves on
