"""The rate limit's counts in a shared storage (a real Redis server): one count for every
server, a storage out of reach refused at start, and one that goes away while serving
replaced by each process's own count, never a 500 or a request left waiting."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import api.ratelimit
from scripts.cli import app
from scripts.configuration import CONFIG_ERROR
from tests.api.conftest import ClientFactory, auth
from tests.support.live_server import free_port

CI = os.environ.get("CI", "").lower() == "true"


def _missing(what: str) -> None:
    if CI:
        pytest.fail(f"{what} under CI=true (.ci/run installs it)")
    pytest.skip(what)


class Redis:
    """A redis-server of its own on a free port, without persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _missing("redis-server is not installed")
        try:
            import coredis  # noqa: F401  # limits' async Redis client (the "redis" extra)
        except ImportError:
            _missing("coredis is not installed (pip install 'program-ledger[redis]')")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._binary = str(binary)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def freeze(self, frozen: bool = True) -> None:
        """SIGSTOP (a Redis that accepts nothing and answers nothing), or SIGCONT."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None


@pytest.fixture
def redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> Redis:
    monkeypatch.setenv("LEDGER_RATE_LIMIT", "3/minute")
    monkeypatch.setenv("LEDGER_RATE_LIMIT_STORAGE", redis.url)
    return redis


def test_two_servers_on_one_storage_count_once(
        shared: Redis, make_client: ClientFactory) -> None:
    first, second = make_client("memory://"), make_client("memory://")

    answers = [client.get("/integrity", headers=auth("ida"))
               for client in (first, second, first, second)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "rate_limited"


class Said:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def error(self, event: str, **_: Any) -> None:
        self.lines.append(("error", event))

    def info(self, event: str, **_: Any) -> None:
        self.lines.append(("info", event))


def test_a_storage_gone_while_serving_counts_per_process_and_says_so_once(
        shared: Redis, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    said = Said()
    monkeypatch.setattr(api.ratelimit, "log", said)
    monkeypatch.setattr(api.ratelimit, "RETRY_SECONDS", 0.0)  # every request tries it
    client: TestClient = make_client("memory://")
    assert client.get("/integrity", headers=auth("ida")).status_code == 200

    shared.stop()
    away = [client.get("/integrity", headers=auth("ida")) for _ in range(4)]
    shared.start()  # an empty Redis: the key's earlier count is gone with the old one
    back = [client.get("/integrity", headers=auth("ida")) for _ in range(4)]

    # counted by the process alone meanwhile: 3/minute of its own, from zero
    assert [a.status_code for a in away] == [200, 200, 200, 429]
    assert said.lines[0] == ("error", "rate_limit_storage_unreachable")
    assert said.lines.count(("error", "rate_limit_storage_unreachable")) == 1
    assert ("info", "rate_limit_storage_recovered") in said.lines
    assert [a.status_code for a in back] == [200, 200, 200, 429]  # counted again


def test_serve_refuses_a_storage_it_cannot_reach(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Redis()  # (skips or fails where the Redis client is missing, as above)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")
    nobody = f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("LEDGER_RATE_LIMIT_STORAGE", nobody)

    answer = CliRunner().invoke(app, ["serve", "--port", str(free_port())])

    assert answer.exit_code == CONFIG_ERROR
    assert answer.output.startswith(f"error: LEDGER_RATE_LIMIT_STORAGE={nobody}: cannot reach")
    assert len(answer.output.splitlines()) == 1


def test_the_demo_refuses_a_storage_it_cannot_reach_before_it_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Redis()  # (skips or fails where the Redis client is missing, as above)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("LEDGER_RATE_LIMIT_STORAGE", f"redis://127.0.0.1:{free_port()}")

    answer = CliRunner().invoke(app, ["demo", "--port", str(free_port())])

    assert answer.exit_code == CONFIG_ERROR
    assert "cannot reach" in answer.output
    assert not (tmp_path / "ledger.db").exists()


def test_a_storage_that_stops_answering_delays_a_request_not_forever(
        shared: Redis, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frozen Redis accepts the connection and never answers: without a time limit the
    request waited for it forever. It is counted by the process alone after
    STORAGE_TIMEOUT, and the next requests skip the storage until RETRY_SECONDS have
    passed."""
    said = Said()
    monkeypatch.setattr(api.ratelimit, "log", said)
    client: TestClient = make_client("memory://")
    assert client.get("/integrity", headers=auth("ida")).status_code == 200
    answers: list[int] = []

    def ask() -> None:
        answers.extend(client.get("/integrity", headers=auth("ida")).status_code
                       for _ in range(5))

    shared.freeze()
    try:
        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        asking.join(60)  # (a generous bound: the point is that it ends at all)
    finally:
        shared.freeze(False)

    assert not asking.is_alive()
    assert answers == [200, 200, 200, 429, 429]  # 3/minute, counted by the process
    assert said.lines == [("error", "rate_limit_storage_unreachable")]


def test_serve_does_not_print_the_storages_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Redis()  # (skips or fails where the Redis client is missing, as above)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")
    monkeypatch.setenv("LEDGER_RATE_LIMIT_STORAGE", f"redis://:s3cret@127.0.0.1:{free_port()}")

    answer = CliRunner().invoke(app, ["serve", "--port", str(free_port())])

    assert answer.exit_code == CONFIG_ERROR
    assert "cannot reach" in answer.output and "s3cret" not in answer.output
