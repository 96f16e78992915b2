"""`ledger --version`, no half-made database left behind by a failed command, and no
ledger made up by a command that only reads."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import scripts.demo_data
from ledger import Settings, build_ledger
from scripts.cli import app
from scripts.store import NO_LEDGER
from tests.conftest import PG_DSN

# Every command that only reads the log (and `replay`, which rebuilds from it).
READING = [
    ["head"],
    ["verify"],
    ["verify", "--digest", f"0:{'0' * 64}"],
    ["replay"],
    ["report", "phase-totals", "2020-1"],
    ["report", "reconciliation", "shh-digital", "2020"],
    ["report", "changes", "--from", "0", "--to", "1"],
    ["export", "--format", "iati"],
]


@pytest.fixture
def fresh_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The path of a SQLite store that does not exist yet, configured for the CLI."""
    path = tmp_path / "fresh.db"
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    return path


def test_version_prints_the_installed_version() -> None:
    answer = CliRunner().invoke(app, ["--version"])

    assert answer.exit_code == 0
    assert version("program-ledger") in answer.output


def test_failed_demo_removes_the_database_it_created(
    fresh_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(scripts.demo_data, "load_2020_scenario", broken)

    answer = CliRunner().invoke(app, ["demo", "--no-serve"])

    assert answer.exit_code != 0
    assert isinstance(answer.exception, OSError)
    assert list(fresh_sqlite.parent.glob("fresh.db*")) == []


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_a_reading_command_refuses_a_missing_database_and_creates_none(
    fresh_sqlite: Path, command: list[str]
) -> None:
    answer = CliRunner().invoke(app, command)

    assert answer.exit_code == NO_LEDGER, answer.output
    assert answer.stdout == ""  # no `0:000…`, no `verify: ok`
    assert answer.stderr == (f"error: no ledger at {fresh_sqlite} (LEDGER_DATABASE_URL="
                             f"sqlite:///{fresh_sqlite}); run ledger demo or ledger serve "
                             "to create one\n")
    assert list(fresh_sqlite.parent.glob("fresh.db*")) == []


def test_a_reading_command_refuses_a_file_that_holds_no_ledger(fresh_sqlite: Path) -> None:
    fresh_sqlite.touch()

    answer = CliRunner().invoke(app, ["verify"])

    assert answer.exit_code == NO_LEDGER
    assert "has no ledger_chain table" in answer.stderr
    assert fresh_sqlite.stat().st_size == 0


@pytest.mark.parametrize("command", [["head"], ["verify"], ["report", "phase-totals", "2020-1"]],
                         ids=" ".join)
def test_a_reading_command_creates_nothing_in_an_empty_postgres_schema(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", postgres_url)
    schema = postgres_url.rpartition("schema=")[2]

    answer = CliRunner().invoke(app, command)

    assert answer.exit_code == NO_LEDGER, answer.output
    assert f"schema {schema} has no ledger_chain table" in answer.stderr
    with psycopg.connect(PG_DSN) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = %s", (schema,)).fetchall()
    assert tables == []


def test_a_missing_postgres_database_is_one_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL",
                       "postgresql://postgres:s3cret@127.0.0.1:1/nowhere")  # nothing listens

    answer = CliRunner().invoke(app, ["head"])

    assert answer.exit_code == NO_LEDGER
    assert answer.stderr.startswith("error: cannot open the ledger's database "
                                    "(LEDGER_DATABASE_URL=postgresql://postgres:***@")
    assert len(answer.stderr.splitlines()) == 1 and "s3cret" not in answer.stderr


def test_writing_commands_still_create_the_store(fresh_sqlite: Path) -> None:
    demo = CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", "keys.json"])

    head = CliRunner().invoke(app, ["head"])

    assert demo.exit_code == 0, demo.output
    assert head.exit_code == 0 and not head.stdout.startswith("0:")


def test_failed_report_keeps_a_database_that_existed(fresh_sqlite: Path) -> None:
    build_ledger(Settings()).close()
    assert fresh_sqlite.exists()

    answer = CliRunner().invoke(app, ["report", "phase-totals", "no-such-phase"])

    assert answer.exit_code == 1
    assert fresh_sqlite.exists()


def test_a_writing_command_creates_the_schema_its_url_names(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schema = postgres_url.rpartition("schema=")[2]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}"')  # the fixture's; dropped again at its end
    monkeypatch.setenv("LEDGER_DATABASE_URL", postgres_url)
    monkeypatch.chdir(tmp_path)

    demo = CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", "keys.json"])
    head = CliRunner().invoke(app, ["head"])

    assert demo.exit_code == 0, demo.output
    assert head.exit_code == 0 and not head.stdout.startswith("0:")
    with psycopg.connect(PG_DSN) as conn:
        tables = {name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))}
    assert {"ledger_chain", "ledger_events"} <= tables


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_a_reading_command_refuses_memory_which_holds_no_ledger_outside_its_server(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")

    answer = CliRunner().invoke(app, command)

    assert answer.exit_code == NO_LEDGER, answer.output
    assert answer.stderr.startswith("error: no ledger in memory://")


def test_a_report_of_changes_refuses_to_start_beyond_the_head(fresh_sqlite: Path) -> None:
    """--from beyond the head is a window that has not begun (refused); --to beyond it
    reads up to the head, and the report says which position it reached (`to`)."""
    assert CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", "k.json"]).exit_code == 0
    head = int(CliRunner().invoke(app, ["head"]).stdout.split(":")[0])

    beyond = CliRunner().invoke(app, ["report", "changes", "--from", str(head + 1),
                                      "--to", str(head + 2), "--format", "json"])
    up_to_now = CliRunner().invoke(app, ["report", "changes", "--from", "0",
                                         "--to", str(head + 1), "--format", "json"])

    assert beyond.exit_code == 2
    assert f"position {head + 1} is beyond the log's head ({head})" in beyond.output
    assert up_to_now.exit_code == 0, up_to_now.output
    assert json.loads(up_to_now.stdout)["to"] == head


@pytest.mark.parametrize("command", [["report", "changes", "--from", "²", "--to", "1"],
                                     ["verify", "--digest", f"²:{'0' * 64}"]], ids=" ".join)
def test_a_unicode_digit_is_no_position_to_the_cli(fresh_sqlite: Path,
                                                   command: list[str]) -> None:
    assert CliRunner().invoke(app, ["demo", "--no-serve", "--keys-file", "k.json"]).exit_code == 0

    answer = CliRunner().invoke(app, command)

    assert answer.exit_code == 2, answer.output  # a usage error, not a traceback
