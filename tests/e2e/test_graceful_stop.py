"""A stop while clients follow the log: SIGTERM ends the event streams (the API's and the
dashboard's) at once, so `ledger serve` exits without waiting for its followers to
leave — before, one open dashboard tab kept it from ever stopping."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server

KEY = "e2e-auditor-key-0123456789"


class Follower(threading.Thread):
    """Reads one event stream until the server ends it; notes how it ended."""

    def __init__(self, base: str, path: str, **kwargs: object) -> None:
        super().__init__(daemon=True)
        self.url, self.kwargs = f"{base}{path}", kwargs
        self.opened = threading.Event()
        self.lines: list[str] = []
        self.error: BaseException | None = None
        self.ended_at: float | None = None

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, timeout=60, **self.kwargs) as response:  # type: ignore[arg-type]
                assert response.status_code == 200, response.read()
                for line in response.iter_lines():
                    self.lines.append(line)
                    self.opened.set()
        except BaseException as exc:  # the test asserts there was none
            self.error = exc
        finally:
            self.ended_at = time.monotonic()
            self.opened.set()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_ends_the_event_streams_and_the_server_exits(
        sql_database_url: str, tmp_path: Path, workers: str) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [{"key": KEY, "user": "ida", "roles": ["auditor"]}]}))
    env = {**os.environ, "LEDGER_DATABASE_URL": sql_database_url,
           "LEDGER_API_KEYS_FILE": str(keys), "LEDGER_LOG_FORMAT": "json"}
    # a backstop far beyond what the test waits: the streams must end by themselves
    server = Server(env, "--workers", workers, "--shutdown-timeout", "60")
    try:
        login = httpx.post(f"{server.base}/ui/login", data={"key": KEY, "next": "/ui"},
                           timeout=30)
        cookies = dict(login.history[0].cookies if login.history else login.cookies)
        assert cookies, login.text
        followers = [Follower(server.base, "/events/stream",
                              headers={"Authorization": f"Bearer {KEY}"})
                     for _ in range(3)]
        followers += [Follower(server.base, "/ui/stream?after=0", cookies=cookies)
                      for _ in range(2)]
        for follower in followers:
            follower.start()
        for follower in followers:
            assert follower.opened.wait(30) and follower.lines, follower.url

        stopped = time.monotonic()
        os.kill(server.process.pid, signal.SIGTERM)  # the server's own process only
        code = server.process.wait(timeout=30)
        exited = time.monotonic() - stopped
        for follower in followers:
            follower.join(timeout=10)
    finally:
        log = server.stop()

    assert exited < 15, (exited, log[-2000:])
    # uvicorn, done, raises the signal it caught once more: the default action ends it
    assert code in (0, -signal.SIGTERM), log[-2000:]
    assert "Application shutdown complete" in log
    assert all(f.error is None and f.ended_at is not None for f in followers), [
        (f.url, repr(f.error)) for f in followers]
    assert "timeout graceful shutdown exceeded" not in log


def test_serve_names_its_shutdown_timeout() -> None:
    from tests.support.server import LEDGER

    result = subprocess.run([LEDGER, "serve", "--help"], capture_output=True, text=True,
                            timeout=60, check=False, env={**os.environ, "COLUMNS": "200"})

    assert "--shutdown-timeout" in result.stdout


def test_a_client_connecting_during_a_stop_is_answered_or_refused_not_left_hanging(
        sql_database_url: str, tmp_path: Path) -> None:
    """With workers, the supervisor kept its copy of the listening socket open until
    the workers had exited: the kernel accepted connections into a backlog no one read
    and reset them seconds later. Refused at once, a client tries again elsewhere. (A
    connection the server accepts just as it stops may still be closed unanswered: one
    such race is allowed, not a stall.)"""
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [{"key": KEY, "user": "ida", "roles": ["auditor"]}]}))
    env = {**os.environ, "LEDGER_DATABASE_URL": sql_database_url,
           "LEDGER_API_KEYS_FILE": str(keys), "LEDGER_LOG_FORMAT": "json"}
    server = Server(env, "--workers", "2")  # (one worker closes its one socket at once)
    outcomes: list[tuple[str, float]] = []
    waited: list[int] = []

    def wait_long() -> None:  # a request the stop lets finish: it waits 5 s, then 503
        waited.append(httpx.get(f"{server.base}/applications", timeout=30, params={
            "min_position": 10**12}, headers={"Authorization": f"Bearer {KEY}"}).status_code)

    waiting = threading.Thread(target=wait_long, daemon=True)
    try:
        waiting.start()
        time.sleep(1.0)  # (in flight)
        os.kill(server.process.pid, signal.SIGTERM)
        started = time.monotonic()
        while server.process.poll() is None and time.monotonic() - started < 30:
            asked = time.monotonic()
            try:
                answer = httpx.get(f"{server.base}/health", timeout=20,
                                   headers={"Connection": "close"})
                outcome = f"answered {answer.status_code}"
            except httpx.ConnectError:
                outcome = "refused"
            except httpx.TransportError as exc:
                outcome = f"broken: {type(exc).__name__}"
            outcomes.append((outcome, time.monotonic() - asked))
            time.sleep(0.01)
        waiting.join(timeout=30)
    finally:
        server.stop()

    assert waited == [503]
    assert any(outcome == "refused" for outcome, _ in outcomes), outcomes[-5:]
    assert max(seconds for _, seconds in outcomes) < 2, outcomes
    assert sum(outcome.startswith("broken") for outcome, _ in outcomes) <= 1, outcomes
