"""`ledger bench` end to end on a tiny log: the HTTP query and write stages against a real
`ledger serve` on PostgreSQL. Checks that every figure is there and answered, never how fast.

Slow (about a minute: two log sizes × twelve endpoints × two client settings): runs in CI
with the other slow tests, not in a plain `pytest`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scripts.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

QUERIES = {
    "GET /phases/{id}/totals",
    "GET /phases/{id}/totals?as_of_position=",
    "GET /phases/{id}/totals?effective_on=",
    "GET /phases/{id}/totals?as_of_position=&effective_on=",
    "GET /programmes/{pid}/reconciliation/{year}",
    "GET /programmes/{pid}/reconciliation/{year}?as_of_position=&effective_on=",
    "GET /programmes/{pid}/accounts",
    "GET /applications/{id}",
    "GET /audit?limit=100",
    "GET /phases/{id}/totals/paid/entries?limit=100",
    "GET /integrity",
}
COMMANDS = {"POST submit_application", "POST approve_application", "POST request_drawdown",
            "POST pay_drawdown", "POST command mix (all four)"}


def server_errors(figure: dict) -> dict[str, int]:
    return {s: n for s, n in figure["statuses"].items() if s[0] not in "234"}


def test_bench_reports_every_http_figure_answered_without_server_errors(
    postgres_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "bench.json"
    arguments = ["bench", "--events", "2000", "--commands", "50", "--threads", "0",
                 "--query-seconds", "1", "--write-seconds", "1", "--database-url", postgres_url,
                 "--database-name", f"bench_{uuid.uuid4().hex[:12]}", "--json", str(output)]

    result = CliRunner().invoke(app, arguments)

    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text())
    http = report["http"]
    trivial = {f["name"] for f in http["queries"]} - QUERIES
    assert len(trivial) == 1 and next(iter(trivial)).endswith("(trivial)")
    sizes = sorted({f["events"] for f in http["queries"]})
    assert len(sizes) == 2 and sizes[0] < sizes[1]
    for events in sizes:
        measured = {(f["name"], f["clients"]) for f in http["queries"] if f["events"] == events}
        assert measured == {(n, c) for n in QUERIES | trivial for c in (1, 16)}
    for figure in http["queries"] + http["writes"]:
        assert figure["rate_per_s"] > 0, figure
        assert figure["p50_ms"] is not None and figure["p99_ms"] >= figure["p50_ms"], figure
        assert server_errors(figure) == {}, figure
    # the write stage runs on `ledger serve` and on `ledger serve --projector`
    projector = {f"{name} (--projector)" for name in COMMANDS}
    assert {f["name"] for f in http["writes"]} == COMMANDS | projector
    assert all(f["baseline"].startswith("raw INSERT+COMMIT") for f in http["writes"])
    assert {row["name"] for row in http["flatness"]} == QUERIES | trivial
    assert all(row["one_client_ratio"] is not None for row in http["flatness"])
    catch_ups = [f for f in report["figures"] if f["name"].startswith("serve: start")]
    assert len(catch_ups) == 2 and all(f["rate_per_s"] > 0 for f in catch_ups)
    # the queries wait for the integrity checkpoint at the head (no catch-up beside them)
    verified = [f for f in report["figures"] if f["name"].startswith("serve: integrity")]
    assert len(verified) == 2 and all(f["seconds"] >= 0 for f in verified)
