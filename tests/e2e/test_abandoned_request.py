"""A request the client abandons before the server answers is no server error: it was
logged and counted as a 500 (the middlewares' default status), which sets off a 5xx
alert for an answer no client received. It is 499, nginx's "client closed request"."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import httpx

from tests.support.server import Server

KEY = "e2e-clerk-key-0123456789"


def test_a_body_cut_short_by_the_client_is_logged_and_counted_as_499(
        sql_database_url: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [{"key": KEY, "user": "clara", "roles": ["clerk"]}]}))
    server = Server({**os.environ, "LEDGER_DATABASE_URL": sql_database_url,
                     "LEDGER_API_KEYS_FILE": str(keys), "LEDGER_LOG_FORMAT": "json"})
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(
                b"POST /applications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + KEY.encode() + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\nX-Request-ID: abandoned-1\r\n\r\n{\"a\":1}")
            time.sleep(0.5)  # the server reads the seven bytes and waits for the rest
        counted: list[str] = []
        for _ in range(50):  # the server notices the closed connection
            metrics = httpx.get(f"{server.base}/metrics", timeout=10).text
            counted = [line for line in metrics.splitlines()
                       if line.startswith("ledger_http_requests_total{method=\"POST\"")]
            if counted:
                break
            time.sleep(0.1)
    finally:
        log = server.stop()

    handled = [json.loads(line) for line in log.splitlines()
               if line.startswith("{") and "abandoned-1" in line]
    assert [line["status"] for line in handled if line["event"] == "request_handled"] == [499]
    assert counted and all('status="499"' in line for line in counted), counted
