"""The bench's own tools, without a database: the asyncio load generator, its statistics,
the flatness table and `ledger bench` forwarding its arguments."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from scripts import bench, bench_load
from scripts.bench_http import HttpFigure, failure_text, flatness
from scripts.cli import app


class Answers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the load generator expects

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"3\r\nabc\r\n0\r\n\r\n")
            return
        status = 500 if self.path == "/broken" else 200
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_load_generator_counts_every_status_it_gets(base_url: str) -> None:
    job = {"mode": "get", "base_url": base_url, "key": "k" * 16, "clients": 3,
           "paths": ["/ok", "/broken", "/chunked"], "seconds": 0.3, "timeout": 5,
           "min_requests": 0}

    result = asyncio.run(bench_load.run_gets(job))

    assert set(result["statuses"]) == {"200", "500"}
    assert result["requests"] == sum(result["statuses"].values())
    assert 0 < result["p50_ms"] <= result["p99_ms"]


def test_one_slow_client_still_gets_its_minimum_of_answers(base_url: str) -> None:
    job = {"mode": "get", "base_url": base_url, "key": "k" * 16, "clients": 1,
           "paths": ["/ok"], "seconds": 0, "timeout": 5, "min_requests": 3}

    result = asyncio.run(bench_load.run_gets(job))

    assert result["requests"] >= 3


def test_a_server_that_is_not_there_counts_as_errors_not_answers() -> None:
    job = {"mode": "get", "base_url": "http://127.0.0.1:9", "key": "k" * 16, "clients": 2,
           "paths": ["/"], "seconds": 5, "timeout": 1, "min_requests": 0}

    result = asyncio.run(bench_load.run_gets(job))

    assert result["requests"] == 0 and result["p50_ms"] is None
    assert result["statuses"].get("error", 0) >= 1


def test_percentile_is_nearest_rank_in_milliseconds() -> None:
    ordered = [n / 1000 for n in range(1, 101)]  # 1 … 100 ms

    assert bench_load.percentile(ordered, 50) == pytest.approx(50)
    assert bench_load.percentile(ordered, 99) == pytest.approx(99)
    assert bench_load.percentile([], 50) is None


def figure(events: int, clients: int, p50: float | None, requests: int = 10) -> HttpFigure:
    return HttpFigure("queries", events, "GET /x", clients, requests, 1.0, p50, p50,
                      {"200": requests})


def test_flatness_compares_p50_at_both_sizes_per_client_setting() -> None:
    figures = [figure(100, 1, 2.0), figure(1000, 1, 3.0), figure(100, 16, 10.0),
               figure(1000, 16, None, requests=0)]

    (row,) = flatness(figures, [100, 1000])

    assert row["one_client_p50_ms"] == [2.0, 3.0] and row["one_client_ratio"] == 1.5
    assert row["many_clients_ratio"] is None
    # without a trivial endpoint to compare with, the ratio stands for itself
    assert row["one_client_ratio_to_trivial"] == 1.0
    assert row["many_clients_ratio_to_trivial"] is None


def test_flatness_takes_out_the_trivial_endpoints_own_drift() -> None:
    trivial = "GET /whoami (trivial)"

    def at(events: int, clients: int, name: str, p50: float) -> HttpFigure:
        return HttpFigure("queries", events, name, clients, 10, 1.0, p50, p50,
                          {"200": 10}, None if name == trivial else trivial)

    figures = [at(100, 1, trivial, 0.5), at(1000, 1, trivial, 0.6),
               at(100, 16, trivial, 4.0), at(1000, 16, trivial, 6.0),
               at(100, 1, "GET /x", 1.0), at(1000, 1, "GET /x", 1.1),
               at(100, 16, "GET /x", 10.0), at(1000, 16, "GET /x", 12.0)]

    base, query = flatness(figures, [100, 1000])

    assert base["one_client_ratio"] == 1.2 and base["one_client_ratio_to_trivial"] == 1.0
    assert query["one_client_ratio"] == 1.1 and query["many_clients_ratio"] == 1.2
    # 1.1 / 1.2 and 1.2 / 1.5: slower at 1000 only as much as the machine was
    assert query["one_client_ratio_to_trivial"] == 0.92
    assert query["many_clients_ratio_to_trivial"] == 0.8


def test_a_query_that_never_answered_says_so() -> None:
    silent = HttpFigure("queries", 1, "GET /slow", 16, 0, 5.0, None, None, {})
    failing = HttpFigure("queries", 1, "GET /x", 16, 3, 5.0, 1.0, 2.0,
                         {"200": 1, "404": 2})

    assert failure_text(silent) == "no answer in 5 s"
    assert failure_text(failing) == "404: 2"


def test_ledger_bench_forwards_its_arguments_to_the_bench() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])

    assert result.exit_code == 0
    assert "--query-seconds" in result.output and "--events" in result.output


@pytest.mark.parametrize("argv", [["--events", "-5"], ["--commands", "0"], ["--batch", "x"],
                                  ["--database-url", "notaurl"], ["--query-seconds", "0"],
                                  ["--threads", "x"], ["--threads", "-1"]],
                         ids=" ".join)
def test_the_bench_refuses_arguments_it_cannot_use(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.parse_args(argv)

    assert exited.value.code == 2
    assert f"argument {argv[0]}" in capsys.readouterr().err


def test_the_bench_says_in_one_line_that_it_cannot_reach_its_server(
        capsys: pytest.CaptureFixture[str]) -> None:
    nobody = "postgresql://postgres@127.0.0.1:1/x"  # nothing listens on port 1

    assert bench.main(["--events", "10", "--no-http", "--database-url", nobody]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: cannot create the bench database on {nobody}: ")


def test_serve_refuses_a_port_beyond_65535() -> None:
    answer = CliRunner().invoke(app, ["serve", "--port", "84256"])

    assert answer.exit_code == 2
    assert "--port" in answer.output and "65535" in answer.output


def test_the_bench_does_not_print_its_servers_password(
        capsys: pytest.CaptureFixture[str]) -> None:
    nobody = "postgresql://postgres:s3cret@127.0.0.1:1/x"

    assert bench.main(["--events", "10", "--no-http", "--database-url", nobody]) == 1
    assert "s3cret" not in capsys.readouterr().err
