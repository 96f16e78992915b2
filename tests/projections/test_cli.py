"""`ledger replay`, `ledger verify` and `ledger report` on a SQLite store."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Settings, build_ledger
from projections.leader import lock_for
from scripts.cli import app
from scripts.exports.german import euro
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


def test_replay_while_another_runs_says_so_and_exits_busy(story_db, sqlite_url: str):
    other = lock_for(sqlite_url, "rebuild")  # as another `ledger replay` holds it
    assert other.hold()
    try:
        result = CliRunner().invoke(app, ["replay"])
    finally:
        other.release()

    assert result.exit_code == 75, result.output
    assert "another rebuild" in result.output
    assert "Traceback" not in result.output


def test_verify_passes_then_fails_on_a_wrong_digest(story_db):
    ledger, _ = story_db
    position, head = ledger.head()

    good = CliRunner().invoke(app, ["verify", "--digest", f"{position}:{head}"])
    bad = CliRunner().invoke(app, ["verify", "--digest", f"{position}:{'0' * 64}"])

    assert good.exit_code == 0, good.output
    assert "verify: ok" in good.output
    assert bad.exit_code == 1
    # The chain holds together; the digest is the one that does not match it.
    assert "BROKEN" not in bad.output
    assert f"chain: ok, {position} events, head {position}:{head}; digest {position}:" \
           f"{'0' * 64} does NOT match the chain (the chain has {head} at position " \
           f"{position})" in bad.output
    assert re.search(rf"^digest {position}:0{{64}} checked at \S+: FAILED \(the chain has "
                     rf"{head} at position {position}\)$", bad.output, re.MULTILINE)
    assert bad.output.rstrip().endswith("verify: FAILED")


def test_verify_of_a_digest_beyond_the_log_is_not_a_broken_chain(story_db):
    ledger, _ = story_db
    position, head = ledger.head()

    result = CliRunner().invoke(app, ["verify", "--digest", f"{position + 5}:{head}"])

    assert result.exit_code == 1
    assert "BROKEN" not in result.output
    assert (f"does NOT match the chain (the log ends at position {position}, before the "
            f"digest's {position + 5})") in result.output
    assert "FAILED (the log ends at position" in result.output


def test_verify_with_a_digest_still_calls_a_changed_row_broken(story_db, sqlite_url: str):
    import sqlite3

    ledger, _ = story_db
    position, head = ledger.head()
    ledger.close()
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = 7")

    result = CliRunner().invoke(app, ["verify", "--digest", f"{position}:{head}"])

    assert result.exit_code == 1
    assert "chain: BROKEN at position 7: event at position 7 does not match its stored hash" \
        in result.output
    assert "does NOT match" not in result.output
    assert re.search(r"^digest \S+ checked at \S+: FAILED \(event at position 7 ",
                     result.output, re.MULTILINE)


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
    # for people: German labels and amounts (SPEC §7), and the footer on one line
    assert "Verfügbar" in table.output and euro(Decimal("15755000.00")) in table.output
    assert re.search(r"^Log-Position \d+ · Kopf-Hash [0-9a-f]{64} · erstellt .+ UTC$",
                     table.output, re.MULTILINE)
    assert "available,15755000.00" in as_csv.output
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text())["balanced"] is True
    assert early.exit_code == 1  # the phase did not exist yet


def test_a_reports_csv_is_what_the_api_answers_as_csv(story_db):
    """`--format csv` is for programs: the API's names and cells (Accept: text/csv), not
    names of its own (`count:closed` against `counts.closed`, `True` against `true`)."""
    from api.tabular import figures_csv

    _, story = story_db
    for command in (["phase-totals", story.phase_id],
                    ["reconciliation", story.programme_id, "2020"]):
        as_json = CliRunner().invoke(app, ["report", *command, "--format", "json"])
        as_csv = CliRunner().invoke(app, ["report", *command, "--format", "csv"])

        assert as_json.exit_code == 0 and as_csv.exit_code == 0, as_csv.output
        api = figures_csv(json.loads(as_json.stdout)).body.decode()
        assert as_csv.stdout.replace("\r\n", "\n") == api.replace("\r\n", "\n")
        assert ("counts." in api or "checks." in api) and ":" not in api.split(",")[0]


def test_changes_count_an_amended_award_by_its_change(story_db):
    """An award amendment adds its change to the awards' total (not its new amount): the
    total is the change of `awarded` over the same span, summed over the phases."""
    ledger, _ = story_db
    head = ledger.head()[0]

    answer = CliRunner().invoke(app, ["report", "changes", "--from", "0", "--to", str(head),
                                      "--format", "json"])
    table = CliRunner().invoke(app, ["report", "changes", "--from", "0", "--to", str(head)])

    assert answer.exit_code == 0, answer.output
    changes = json.loads(answer.stdout)
    awarded = sum(Decimal(p["figures"]["awarded"]["delta"]) for p in changes["phases"])
    assert Decimal(changes["changes"]["awarded"]["total"]) == awarded
    amended = [i for i in changes["changes"]["awarded"]["items"]
               if i["event_type"] == "AwardAmended"]
    assert len(amended) == 2 and any(Decimal(i["amount"]) < 0 for i in amended)
    assert changes["changes"]["awarded"]["label"] == "Bewilligungen"
    assert table.exit_code == 0 and "Bewilligungen" in table.output


@pytest.mark.parametrize("command", [
    ["report", "phase-totals", "{phase}", "--format", "pdf"],
    ["report", "reconciliation", "{programme}", "2020", "--format", "json"],
    ["report", "changes", "--from", "0", "--to", "5"],
    ["export", "--format", "iati"],
], ids=lambda command: " ".join(command[:2]))
def test_output_into_a_missing_directory_is_refused_before_the_work(
        story_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]):
    _, story = story_db
    missing = tmp_path / "no-such-dir" / "out.file"
    args = [word.format(phase=story.phase_id, programme=story.programme_id) for word in command]

    def no_work(*_: object) -> None:
        raise AssertionError("the command started its work")

    monkeypatch.setattr("scripts.projection_commands._read_side", no_work)
    monkeypatch.setattr("scripts.report_commands._read_side", no_work)
    monkeypatch.setattr("scripts.export_commands._read_side", no_work)

    result = CliRunner().invoke(app, [*args, "--output", str(missing)])

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a usage error, not a traceback
    assert _unboxed(f"Invalid value for '--output': cannot write {missing}: directory "
                    f"{missing.parent} does not exist") in _unboxed(result.output)
    assert not missing.parent.exists()


def test_output_onto_a_directory_is_refused(story_db, tmp_path: Path):
    _, story = story_db

    result = CliRunner().invoke(app, ["report", "phase-totals", story.phase_id,
                                      "--output", str(tmp_path)])

    assert result.exit_code == 2
    assert _unboxed(f"cannot write {tmp_path}: it is a directory") in _unboxed(result.output)


def test_report_to_a_file_leaves_nothing_beside_it(story_db, tmp_path: Path):
    _, story = story_db
    out = tmp_path / "reports" / "phase.pdf"
    out.parent.mkdir()

    result = CliRunner().invoke(app, ["report", "phase-totals", story.phase_id, "--format",
                                      "pdf", "--output", str(out)])

    assert result.exit_code == 0, result.output
    assert [p.name for p in out.parent.iterdir()] == ["phase.pdf"]
    assert out.read_bytes().startswith(b"%PDF")


def _unboxed(text: str) -> str:
    """Text without whitespace and the frame of typer's error box (it wraps long paths)."""
    return "".join(c for c in text if not c.isspace() and c not in "│╭╮╰╯─")
