"""`ledger replay`, `ledger verify` and `ledger report` on a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Settings, build_ledger
from scripts.cli import app
from tests.projections.helpers import run_story


@pytest.fixture
def story_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LEDGER_DATABASE_URL", sqlite_url)
    ledger = build_ledger(Settings(database_url=sqlite_url))
    return ledger, run_story(ledger)


def test_replay_prints_events_per_second(story_db):
    ledger, _ = story_db

    result = CliRunner().invoke(app, ["replay"])

    assert result.exit_code == 0, result.output
    assert f"replayed {ledger.head()[0]} events" in result.output
    assert "events/s" in result.output


def test_verify_passes_then_fails_on_a_wrong_digest(story_db):
    ledger, _ = story_db
    position, head = ledger.head()

    good = CliRunner().invoke(app, ["verify", "--digest", f"{position}:{head}"])
    bad = CliRunner().invoke(app, ["verify", "--digest", f"{position}:{'0' * 64}"])

    assert good.exit_code == 0, good.output
    assert "verify: ok" in good.output
    assert bad.exit_code == 1
    assert "BROKEN" in bad.output


def test_reports_in_every_format(story_db, tmp_path: Path):
    _, story = story_db
    out = tmp_path / "reconciliation.json"

    table = CliRunner().invoke(app, ["report", "phase-totals", story.phase_id])
    as_csv = CliRunner().invoke(app, ["report", "phase-totals", story.phase_id, "--format", "csv"])
    written = CliRunner().invoke(app, ["report", "reconciliation", story.programme_id, "2020",
                                       "--format", "json", "--output", str(out)])
    early = CliRunner().invoke(app, ["report", "phase-totals", story.phase_id, "--format",
                                     "json", "--as-of", "2000-01-01T00:00:00Z"])

    assert table.exit_code == 0, table.output
    assert "15755000.00" in table.output
    assert "available,15755000.00" in as_csv.output
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text())["balanced"] is True
    assert early.exit_code == 1  # the phase did not exist yet
